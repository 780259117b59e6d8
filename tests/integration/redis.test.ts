import { afterAll, describe, expect, it } from 'vitest'
import { config } from '../../core/config.js'
import { createRedis } from '../../core/redis.js'
import { uniqueName } from '../support/factories.js'

const redis = createRedis(config().REDIS_URL)
const prefix = uniqueName('t:redis')

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

describe('redis', () => {
  it('round-trips a hash and runs a Lua script atomically', async () => {
    await redis.connect()
    const key = `${prefix}:customer:1`
    await redis.hset(key, { tenure_days: '120', monthly_charge: '59.9' })
    expect(await redis.hgetall(key)).toEqual({ tenure_days: '120', monthly_charge: '59.9' })
    const script = "return redis.call('HINCRBYFLOAT', KEYS[1], 'monthly_charge', ARGV[1])"
    expect(await redis.eval(script, 1, key, '0.1')).toBe('60')
    expect(await redis.hget(key, 'monthly_charge')).toBe('60')
  })
})
