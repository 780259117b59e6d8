import type { ChainableCommander, Redis } from 'ioredis'
import type { CustomerState } from '../feature-set.js'

export interface OnlineVector {
  customerId: string
  featureSetVersion: string
  /** Event time of the newest input behind the vector (ms). */
  asOf: number
  values: Float64Array
}

export interface StoredCustomer {
  state: CustomerState | undefined
  /** The last offset of `partition` applied to this customer, or -1. */
  offset: number
  vector: Buffer | undefined
}

export interface StateWrite {
  customerId: string
  partition: number
  /** The offset of the last record of this batch for the customer: the guard. */
  offset: number
  state: CustomerState
  vector: Float64Array | undefined
}

export interface OnlineStoreOptions {
  /** @default 'churn:' */
  keyPrefix?: string
  /** A customer's key expires this long after its last update (0: never). @default 400 days */
  ttlSeconds?: number
}

// One script per customer and batch: the write is skipped when the stored offset for the partition is
// already at or past this batch's, so applying the same records twice changes nothing.
const guardedWrite = `
local stored = redis.call('HGET', KEYS[1], 'o:' .. ARGV[1])
if ARGV[8] ~= '1' and stored and tonumber(stored) >= tonumber(ARGV[2]) then return 0 end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[1], 'st', ARGV[3], 'o:' .. ARGV[1], ARGV[2])
else
  redis.call('HSET', KEYS[1], 'st', ARGV[3], 'vec', ARGV[4], 'asof', ARGV[5], 'fsv', ARGV[6], 'o:' .. ARGV[1], ARGV[2])
end
if tonumber(ARGV[7]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[7]) end
return 1
`

interface GuardedPipeline extends ChainableCommander {
  churnGuardedWrite(key: string, partition: string, offset: string, state: string, vector: Buffer | string, asOf: string, version: string, ttl: string, force: string): GuardedPipeline
}

export function encodeVector(values: Float64Array): Buffer {
  const buffer = Buffer.alloc(values.length * 8)
  values.forEach((value, i) => buffer.writeDoubleLE(value, i * 8))
  return buffer
}

export function decodeVector(buffer: Buffer): Float64Array {
  const values = new Float64Array(buffer.length / 8)
  for (let i = 0; i < values.length; i += 1) values[i] = buffer.readDoubleLE(i * 8)
  return values
}

/**
 * The online feature store: one Redis hash per customer holding the aggregation state (`st`), the
 * materialised vector (`vec`, little-endian float64), its as-of time and feature-set version, and
 * the last applied offset per partition (`o:<partition>`). Reads of whole vectors are one round
 * trip, pipelined across customers.
 */
export class OnlineStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ttl: number

  constructor(redis: Redis, options: OnlineStoreOptions = {}) {
    if (!('churnGuardedWrite' in redis)) redis.defineCommand('churnGuardedWrite', { numberOfKeys: 1, lua: guardedWrite })
    this.#redis = redis
    this.#prefix = options.keyPrefix ?? 'churn:'
    this.#ttl = options.ttlSeconds ?? 400 * 86_400
  }

  key(customerId: string): string {
    // The braces keep each customer's key on one slot under Redis Cluster.
    return `${this.#prefix}c:{${customerId}}`
  }

  async readStates(customerIds: readonly string[], partition: number): Promise<Map<string, StoredCustomer>> {
    const pipeline = this.#redis.pipeline()
    for (const id of customerIds) pipeline.hmgetBuffer(this.key(id), 'st', `o:${partition}`, 'vec')
    const results = (await pipeline.exec()) ?? []
    const stored = new Map<string, StoredCustomer>()
    customerIds.forEach((id, i) => {
      const [error, value] = results[i] ?? [new Error('no reply'), null]
      if (error) throw error
      const [state, offset, vector] = value as (Buffer | null)[]
      stored.set(id, {
        state: state === null || state === undefined ? undefined : (JSON.parse(state.toString()) as CustomerState),
        offset: offset === null || offset === undefined ? -1 : Number(offset.toString()),
        vector: vector ?? undefined,
      })
    })
    return stored
  }

  /**
   * Writes each customer's new state, guarded by offset; returns which writes took effect. `force`
   * skips the guard (a backfill replacing states built by another feature-set version).
   */
  async writeStates(writes: readonly StateWrite[], featureSetVersion: string, options: { force?: boolean } = {}): Promise<boolean[]> {
    if (writes.length === 0) return []
    const pipeline = this.#redis.pipeline() as GuardedPipeline
    for (const write of writes) {
      pipeline.churnGuardedWrite(
        this.key(write.customerId),
        String(write.partition),
        String(write.offset),
        JSON.stringify(write.state),
        write.vector === undefined ? '' : encodeVector(write.vector),
        String(write.state.newest ?? 0),
        featureSetVersion,
        String(this.#ttl),
        options.force === true ? '1' : '0',
      )
    }
    const results = (await pipeline.exec()) ?? []
    return results.map(([error, applied]) => {
      if (error) throw error
      return applied === 1
    })
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
