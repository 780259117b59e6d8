import { Redis, type RedisOptions } from 'ioredis'

/** A Redis client that fails fast instead of queueing commands forever while the server is down. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    ...options,
  })
}

export type { Redis }
