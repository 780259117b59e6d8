import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { fromAvroEvent, loadSchema, toAvroEvent, type AvroCustomerEvent } from './avro.js'
import type { TopicSpec } from './catalog.js'
import { AvroCodec, decodeFailures, type DecodeOutcome } from './codec.js'
import { isCompleteValidEvent, customerEventSchema, describeIssues, type CustomerEvent, type ValidationOptions } from './events.js'

/** `customer.events` values: Avro on the wire, validated `CustomerEvent`s in code. */
export class CustomerEventCodec {
  readonly avro: AvroCodec
  readonly #schema: ReturnType<typeof customerEventSchema>
  readonly #validation: ValidationOptions

  /** Without `validation.now`, event times are checked against the clock at decode time. */
  constructor(registry: SchemaRegistry, topic: TopicSpec, validation: ValidationOptions = {}) {
    this.avro = new AvroCodec(registry, loadSchema('customerEvent'), `${topic.name}-value`)
    this.#schema = customerEventSchema(validation)
    this.#validation = validation
  }

  schemaId(): Promise<number> {
    return this.avro.schemaId()
  }

  /** Encodes an event that passed `customerEventSchema`. */
  encode(event: CustomerEvent): Buffer {
    return this.avro.encode(toAvroEvent(event))
  }

  async decode(buffer: Buffer | null): Promise<DecodeOutcome<CustomerEvent>> {
    return this.#validate(await this.avro.decode(buffer))
  }

  /** `decode` without waiting: undefined until the record's writer schema has been looked up by `decode`. */
  decodeKnown(buffer: Buffer | null): DecodeOutcome<CustomerEvent> | undefined {
    const decoded = this.avro.decodeKnown(buffer)
    return decoded === undefined ? undefined : this.#validate(decoded)
  }

  #validate(decoded: DecodeOutcome<unknown>): DecodeOutcome<CustomerEvent> {
    if (!decoded.ok) return decoded
    const envelope = fromAvroEvent(decoded.value as AvroCustomerEvent)
    // Avro already guarantees the types, so the cheap check passes nearly every record; zod decides
    // (and explains) the rest.
    if (isCompleteValidEvent(envelope, this.#validation)) return { ok: true, value: envelope, schemaId: decoded.schemaId }
    const parsed = this.#schema.safeParse(envelope)
    if (!parsed.success) {
      return { ok: false, reason: decodeFailures.INVALID_CONTENT, message: describeIssues(parsed.error), schemaId: decoded.schemaId }
    }
    return { ok: true, value: parsed.data, schemaId: decoded.schemaId }
  }
}
