import type { ChainableCommander, Redis } from 'ioredis'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { encodeState, type CustomerState } from '../feature-set.js'

export interface OnlineVector {
  customerId: string
  featureSetVersion: string
  /** Event time of the newest input behind the vector (ms). */
  asOf: number
  values: Float64Array
}

export interface StoredCustomer {
  /** The encoded state (`FeatureSet.decodeState` reads it), or undefined for a new customer. */
  state: Buffer | undefined
  /** The last offset of `partition` applied to this customer, or -1. */
  offset: number
}

export interface StateWrite {
  customerId: string
  partition: number
  /** The offset of the last record of this batch for the customer: the guard. */
  offset: number
  state: CustomerState
  vector: ArrayLike<number> | undefined
}

export interface OnlineStoreOptions {
  /** @default 'churn:' */
  keyPrefix?: string
  /** A customer's key expires this long after its last update (0: never). @default 400 days */
  ttlSeconds?: number
}

/** Customers per script call: bounds how long one call keeps Redis from serving others (well under 1 ms). */
const customersPerCall = 128

// The write of each customer is skipped when its stored offset for the partition is already at or
// past this batch's, so applying the same records twice changes nothing. One call writes a chunk of
// customers (each one's check and write atomic), which costs Redis and the client far less than a
// call per customer. Keys of a chunk are in different hash slots: Redis Cluster would need chunks
// grouped by slot. ARGV: ttl, force, feature-set version, then per key partition, offset, state,
// vector ('' for none), as-of time.
const writeStatesScript = `
local ttl = tonumber(ARGV[1])
local force = ARGV[2] == '1'
local applied = {}
for i, key in ipairs(KEYS) do
  local at = 3 + (i - 1) * 5
  local field = 'o:' .. ARGV[at + 1]
  local stored = redis.call('HGET', key, field)
  if force or not stored or tonumber(stored) < tonumber(ARGV[at + 2]) then
    if ARGV[at + 4] == '' then
      redis.call('HSET', key, 'st', ARGV[at + 3], field, ARGV[at + 2])
    else
      redis.call('HSET', key, 'st', ARGV[at + 3], 'vec', ARGV[at + 4], 'asof', ARGV[at + 5], 'fsv', ARGV[3], field, ARGV[at + 2])
    end
    if ttl > 0 then redis.call('EXPIRE', key, ttl) end
    applied[i] = 1
  else
    applied[i] = 0
  end
end
return applied
`

// Per key its state and the offset of partition ARGV[1] applied to it, flat (false: none).
const readStatesScript = `
local field = 'o:' .. ARGV[1]
local read = {}
for i, key in ipairs(KEYS) do
  local values = redis.call('HMGET', key, 'st', field)
  read[2 * i - 1] = values[1]
  read[2 * i] = values[2]
end
return read
`

interface StateCommands extends ChainableCommander {
  churnWriteStates(...args: (string | number | Buffer)[]): StateCommands
  churnReadStatesBuffer(...args: (string | number)[]): StateCommands
}

export function encodeVector(values: ArrayLike<number>): Buffer {
  const buffer = Buffer.allocUnsafe(values.length * 8)
  for (let i = 0; i < values.length; i += 1) buffer.writeDoubleLE(values[i] ?? 0, i * 8)
  return buffer
}

export function decodeVector(buffer: Buffer): Float64Array {
  const values = new Float64Array(buffer.length / 8)
  for (let i = 0; i < values.length; i += 1) values[i] = buffer.readDoubleLE(i * 8)
  return values
}

/**
 * The online feature store: one Redis hash per customer holding the aggregation state (`st`, binary,
 * see `encodeState`), the materialised vector (`vec`, little-endian float64), its as-of time and
 * feature-set version, and the last applied offset per partition (`o:<partition>`). Reads of whole
 * vectors are one round trip, pipelined across customers.
 */
export class OnlineStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ttl: number

  constructor(redis: Redis, options: OnlineStoreOptions = {}) {
    if (!('churnWriteStates' in redis)) redis.defineCommand('churnWriteStates', { lua: writeStatesScript })
    if (!('churnReadStates' in redis)) redis.defineCommand('churnReadStates', { lua: readStatesScript, readOnly: true })
    this.#redis = redis
    this.#prefix = options.keyPrefix ?? 'churn:'
    this.#ttl = options.ttlSeconds ?? 400 * 86_400
  }

  key(customerId: string): string {
    // The braces keep each customer's key on one slot under Redis Cluster.
    return `${this.#prefix}c:{${customerId}}`
  }

  /** Each customer's encoded state and the last offset of `partition` applied to it, in one round trip. */
  async readStates(customerIds: readonly string[], partition: number): Promise<StoredCustomer[]> {
    if (customerIds.length === 0) return []
    const pipeline = this.#redis.pipeline() as StateCommands
    for (let from = 0; from < customerIds.length; from += customersPerCall) {
      const keys = customerIds.slice(from, from + customersPerCall).map((id) => this.key(id))
      pipeline.churnReadStatesBuffer(keys.length, ...keys, partition)
    }
    const stored: StoredCustomer[] = []
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error
      const values = reply as (Buffer | null)[]
      for (let i = 0; i < values.length; i += 2) {
        const offset = values[i + 1]
        stored.push({ state: values[i] ?? undefined, offset: offset === null || offset === undefined ? -1 : Number(offset.toString()) })
      }
    }
    if (stored.length !== customerIds.length) throw new ChurnError(ErrorCodes.TRANSPORT, `Redis returned ${stored.length} states for ${customerIds.length} customers`, { canRetry: true })
    return stored
  }

  /**
   * Writes each customer's new state, guarded by offset; returns which writes took effect. `force`
   * skips the guard (a backfill replacing states built by another feature-set version).
   */
  async writeStates(writes: readonly StateWrite[], featureSetVersion: string, options: { force?: boolean } = {}): Promise<boolean[]> {
    if (writes.length === 0) return []
    const pipeline = this.#redis.pipeline() as StateCommands
    for (let from = 0; from < writes.length; from += customersPerCall) {
      const chunk = writes.slice(from, from + customersPerCall)
      const args: (string | number | Buffer)[] = [chunk.length]
      for (const write of chunk) args.push(this.key(write.customerId))
      args.push(this.#ttl, options.force === true ? '1' : '0', featureSetVersion)
      for (const write of chunk) {
        args.push(write.partition, write.offset, encodeState(write.state), write.vector === undefined ? '' : encodeVector(write.vector), write.state.newest ?? 0)
      }
      pipeline.churnWriteStates(...args)
    }
    const applied: boolean[] = []
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error
      for (const flag of reply as number[]) applied.push(flag === 1)
    }
    return applied
  }

  async readVector(customerId: string): Promise<OnlineVector | undefined> {
    const [vector] = await this.readVectors([customerId])
    return vector
  }

  async readVectors(customerIds: readonly string[]): Promise<(OnlineVector | undefined)[]> {
    const pipeline = this.#redis.pipeline()
    for (const id of customerIds) pipeline.hmgetBuffer(this.key(id), 'vec', 'asof', 'fsv')
    const results = (await pipeline.exec()) ?? []
    return customerIds.map((customerId, i) => {
      const [error, value] = results[i] ?? [new Error('no reply'), null]
      if (error) throw error
      const [vector, asOf, version] = value as (Buffer | null)[]
      if (vector === null || vector === undefined || asOf == null || version == null) return undefined
      return { customerId, featureSetVersion: version.toString(), asOf: Number(asOf.toString()), values: decodeVector(vector) }
    })
  }
}
