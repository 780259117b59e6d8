import type { ClickHouseClient } from '@clickhouse/client'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Redis } from 'ioredis'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { createOfflineClient } from '../../core/clickhouse.js'
import type { Config } from '../../core/config.js'
import { createKafka } from '../../core/kafka.js'
import type { Lifecycle } from '../../core/lifecycle.js'
import type { Logger } from '../../core/logger.js'
import { createRedis } from '../../core/redis.js'
import { createSchemaRegistry } from '../../core/schema-registry.js'
import { TopicCatalog } from '../../schemas/catalog.js'

/** What a role is given: clients shared by every role of the process, created on first use. */
export interface RoleContext {
  readonly config: Config
  readonly logger: Logger
  readonly kafka: Kafka
  readonly registry: SchemaRegistry
  readonly catalog: TopicCatalog
  readonly metrics: Registry
  /** Distinguishes this process's transactional ids and consumer instances. */
  readonly instanceId: string
  redis(): Promise<Redis>
  offline(): ClickHouseClient
}

export interface RunningRole {
  readonly name: string
  /** Stops fetching, finishes the in-flight batch and its commit, releases what the role owns. */
  close(): Promise<void>
}

export interface RoleDefinition {
  readonly name: string
  readonly description: string
  start(context: RoleContext): Promise<RunningRole>
}

/**
 * Builds the shared clients of a process. Clients are closed by the lifecycle after every role
 * has stopped (they are registered before any role).
 */
export function createRoleContext(options: { config: Config; logger: Logger; metrics: Registry; lifecycle: Lifecycle; instanceId: string; catalog?: TopicCatalog }): RoleContext {
  const { config, logger, lifecycle } = options
  let redis: Promise<Redis> | undefined
  let offline: ClickHouseClient | undefined
  lifecycle.onShutdown('close redis', async () => {
    if (redis !== undefined) (await redis).disconnect()
  })
  lifecycle.onShutdown('close offline store', async () => {
    await offline?.close()
  })
  return {
    config,
    logger,
    metrics: options.metrics,
    instanceId: options.instanceId,
    kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: `churn-${options.instanceId}`, logger }),
    registry: createSchemaRegistry(config.SCHEMA_REGISTRY_URL),
    catalog: options.catalog ?? new TopicCatalog({ prefix: config.TOPIC_PREFIX, partitions: config.TOPIC_PARTITIONS }),
    redis: () => {
      redis ??= (async () => {
        const client = createRedis(config.REDIS_URL)
        client.on('error', (error: unknown) => { logger.warn({ err: error }, 'redis connection error') })
        await client.connect()
        return client
      })()
      return redis
    },
    offline: () => {
      offline ??= createOfflineClient({ url: config.CLICKHOUSE_URL, path: config.CLICKHOUSE_PATH })
      return offline
    },
  }
}
