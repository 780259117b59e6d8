import avro from 'avsc'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { SchemaType } from '@kafkajs/confluent-schema-registry'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import type { LoadedSchema } from './avro.js'

/** Why a record could not be decoded; each one sends the record to the dead-letter topic. */
export const decodeFailures = {
  /** Not in the Confluent wire format (empty, or first byte is not 0). */
  BAD_MAGIC_BYTE: 'BAD_MAGIC_BYTE',
  /** The schema id in the record is not in the registry. */
  UNKNOWN_SCHEMA_ID: 'UNKNOWN_SCHEMA_ID',
  /** The writer's schema cannot be read as this topic's schema. */
  INCOMPATIBLE_SCHEMA: 'INCOMPATIBLE_SCHEMA',
  /** The bytes do not decode with the writer's schema. */
  AVRO_DECODE: 'AVRO_DECODE',
  /** Decoded, but the content breaks the contract (ranges, enums, ids, event time). */
  INVALID_CONTENT: 'INVALID_CONTENT',
} as const

export type DecodeFailure = (typeof decodeFailures)[keyof typeof decodeFailures]

export type DecodeOutcome<T> = { ok: true; value: T; schemaId: number } | { ok: false; reason: DecodeFailure; message: string; schemaId?: number }

const MAGIC = 0

/** Where `encode` writes a record before copying it out. */
const scratch = Buffer.allocUnsafe(65_536)

/** Decodes an Avro body written with one writer schema into the local schema. */
type Reader = (body: Buffer) => unknown

interface ResponseLikeError {
  status?: number
}

function httpStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as ResponseLikeError).status : undefined
}

/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body) for one subject.
 * Encoding registers (or finds) the local schema once; decoding resolves any writer schema the
 * registry knows to the local reader schema, with one resolver per writer id.
 */
export class AvroCodec {
  readonly #registry: SchemaRegistry
  readonly #schema: LoadedSchema
  readonly #subject: string
  readonly #readers = new Map<number, Promise<Reader | Error>>()
  /** The readers already looked up, for decoding without waiting. */
  readonly #settled = new Map<number, Reader | Error>()
  #schemaId: Promise<number> | undefined
  #header: Buffer | undefined

  constructor(registry: SchemaRegistry, schema: LoadedSchema, subject: string) {
    this.#registry = registry
    this.#schema = schema
    this.#subject = subject
  }

  get subject(): string {
    return this.#subject
  }

  get type(): avro.Type {
    return this.#schema.type
  }

  /** The registry id of the local schema under this subject, registered on first use. */
  schemaId(): Promise<number> {
    this.#schemaId ??= this.#registry
      .register({ type: SchemaType.AVRO, schema: this.#schema.text }, { subject: this.#subject })
      .then(({ id }) => {
        this.#header = Buffer.alloc(5)
        this.#header.writeUInt8(MAGIC, 0)
        this.#header.writeInt32BE(id, 1)
        return id
      })
      .catch((error: unknown) => {
        this.#schemaId = undefined
        throw toRegistryError(error, this.#subject)
      })
    return this.#schemaId
  }

  /** Encodes a value that already satisfies the schema; call `schemaId()` once before. */
  encode(value: unknown): Buffer {
    const header = this.#header
    if (header === undefined) throw new ChurnError(ErrorCodes.SCHEMA_UNKNOWN, `codec for ${this.#subject} used before its schema id was resolved`)
    // Written into a scratch buffer behind the header, then copied out: one allocation per record.
    const end = this.#schema.type.encode(value, scratch, header.length)
    // A record too large for it (a model artifact) is written on its own rather than keep a large scratch.
    if (end < 0) return Buffer.concat([header, this.#schema.type.toBuffer(value)])
    const encoded = Buffer.allocUnsafe(end)
    header.copy(encoded, 0)
    scratch.copy(encoded, header.length, header.length, end)
    return encoded
  }

  async decode(buffer: Buffer | null): Promise<DecodeOutcome<unknown>> {
    if (!hasHeader(buffer)) return badMagic(buffer)
    const schemaId = buffer.readInt32BE(1)
    return this.#decodeWith(this.#settled.get(schemaId) ?? (await this.#reader(schemaId)), buffer, schemaId)
  }

  /**
   * `decode` without waiting, for hot loops: undefined when the record's writer schema has not been
   * looked up yet (then `decode` it, which looks it up once for every later record).
   */
  decodeKnown(buffer: Buffer | null): DecodeOutcome<unknown> | undefined {
    if (!hasHeader(buffer)) return badMagic(buffer)
    const schemaId = buffer.readInt32BE(1)
    const reader = this.#settled.get(schemaId)
    return reader === undefined ? undefined : this.#decodeWith(reader, buffer, schemaId)
  }

  #decodeWith(reader: Reader | Error, buffer: Buffer, schemaId: number): DecodeOutcome<unknown> {
    if (reader instanceof Error) {
      const reason = reader.message.startsWith('unknown') ? decodeFailures.UNKNOWN_SCHEMA_ID : decodeFailures.INCOMPATIBLE_SCHEMA
      return { ok: false, reason, message: reader.message, schemaId }
    }
    try {
      const value = reader(buffer.subarray(5))
      return { ok: true, value, schemaId }
    } catch (error) {
      return { ok: false, reason: decodeFailures.AVRO_DECODE, message: `cannot decode with schema id ${schemaId}: ${errorMessage(error)}`, schemaId }
    }
  }

  /** A permanent problem is returned as an Error value (cached); a transient one throws (not cached). */
  #reader(schemaId: number): Promise<Reader | Error> {
    let reader = this.#readers.get(schemaId)
    if (reader === undefined) {
      reader = this.#registry.getSchema(schemaId).then(
        (writer) => {
          const type = this.#schema.type
          let resolved: Reader | Error
          try {
            // The common case, records written with the local schema, needs no resolution.
            if (type.equals(writer as avro.Type)) {
              resolved = (body: Buffer): unknown => type.fromBuffer(body, undefined, true)
            } else {
              const resolver = type.createResolver(writer as avro.Type)
              resolved = (body: Buffer): unknown => type.fromBuffer(body, resolver, true)
            }
          } catch (error) {
            resolved = new Error(`writer schema ${schemaId} cannot be read as ${this.#subject}: ${errorMessage(error)}`)
          }
          this.#settled.set(schemaId, resolved)
          return resolved
        },
        (error: unknown) => {
          if (httpStatus(error) === 404) {
            const unknown = new Error(`unknown schema id ${schemaId}`)
            this.#settled.set(schemaId, unknown)
            return unknown
          }
          this.#readers.delete(schemaId)
          throw new ChurnError(ErrorCodes.TRANSPORT, `schema registry unavailable while looking up schema id ${schemaId}: ${errorMessage(error)}`, { canRetry: true, cause: error })
        },
      )
      this.#readers.set(schemaId, reader)
    }
    return reader
  }
}

function hasHeader(buffer: Buffer | null): buffer is Buffer {
  return buffer !== null && buffer.length >= 5 && buffer[0] === MAGIC
}

function badMagic(buffer: Buffer | null): DecodeOutcome<never> {
  return { ok: false, reason: decodeFailures.BAD_MAGIC_BYTE, message: `expected the Confluent wire format (magic byte 0 and a schema id), got ${buffer === null ? 'no value' : `${buffer.length} bytes starting ${buffer.subarray(0, 5).toString('hex')}`}` }
}

/** Maps a registry failure to a typed error that names the subject and says whether to retry. */
export function toRegistryError(error: unknown, subject: string): ChurnError {
  const status = httpStatus(error)
  if (status === 409) {
    return new ChurnError(ErrorCodes.SCHEMA_INCOMPATIBLE, `schema for subject ${subject} is incompatible with its registered versions: ${errorMessage(error)}`, { cause: error })
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new ChurnError(ErrorCodes.SCHEMA_UNKNOWN, `schema registry refused subject ${subject} (HTTP ${status}): ${errorMessage(error)}`, { cause: error })
  }
  return new ChurnError(ErrorCodes.TRANSPORT, `schema registry unavailable for subject ${subject}: ${errorMessage(error)}`, { canRetry: true, cause: error })
}
