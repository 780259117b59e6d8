import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { fromAvroEvent, loadSchema, toAvroEvent, type AvroCustomerEvent } from './avro.js'
import type { TopicSpec } from './catalog.js'
import { AvroCodec, decodeFailures, type DecodeOutcome } from './codec.js'
import { customerEventSchema, describeIssues, type CustomerEvent, type ValidationOptions } from './events.js'

/** `customer.events` values: Avro on the wire, validated `CustomerEvent`s in code. */
export class CustomerEventCodec {
  readonly avro: AvroCodec
  readonly #schema: ReturnType<typeof customerEventSchema>

  /** Without `validation.now`, event times are checked against the clock at decode time. */
  constructor(registry: SchemaRegistry, topic: TopicSpec, validation: ValidationOptions = {}) {
    this.avro = new AvroCodec(registry, loadSchema('customerEvent'), `${topic.name}-value`)
    this.#schema = customerEventSchema(validation)
  }

  schemaId(): Promise<number> {
    return this.avro.schemaId()
  }

  /** Encodes an event that passed `customerEventSchema`. */
  encode(event: CustomerEvent): Buffer {
    return this.avro.encode(toAvroEvent(event))
  }

  async decode(buffer: Buffer | null): Promise<DecodeOutcome<CustomerEvent>> {
    const decoded = await this.avro.decode(buffer)
    if (!decoded.ok) return decoded
    const envelope = fromAvroEvent(decoded.value as AvroCustomerEvent)
    const parsed = this.#schema.safeParse(envelope)
    if (!parsed.success) {
      return { ok: false, reason: decodeFailures.INVALID_CONTENT, message: describeIssues(parsed.error), schemaId: decoded.schemaId }
    }
    return { ok: true, value: parsed.data, schemaId: decoded.schemaId }
  }
}
