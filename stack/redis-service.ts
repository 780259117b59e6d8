import { createRedis } from '../core/redis.js'
import { NativeService, type LaunchSpec, type Requirement } from './service.js'
import type { StackSettings } from './settings.js'

/** Redis from Debian's package, append-only file under the stack folder. */
export class RedisService extends NativeService {
  readonly name = 'redis'

  constructor(stackDir: string, private readonly settings: StackSettings['redis']) {
    super(stackDir, settings)
  }

  override requirements(): Requirement[] {
    return [{ tool: 'redis-server', debianPackage: 'redis-server' }]
  }

  provision(): Promise<void> {
    return Promise.resolve()
  }

  protected launch(): LaunchSpec {
    return {
      command: 'redis-server',
      args: ['--bind', this.host, '--port', String(this.port), '--dir', this.dir, '--daemonize', 'no', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxclients', '10000'],
    }
  }

  async healthy(): Promise<boolean> {
    const redis = createRedis(this.settings.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 })
    redis.on('error', () => undefined)
    try {
      await redis.connect()
      await redis.ping()
      return true
    } catch {
      return false
    } finally {
      redis.disconnect()
    }
  }
}
