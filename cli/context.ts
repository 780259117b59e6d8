import type { Kafka } from 'kafkajs'
import { config, type Config } from '../core/config.js'
import { createKafka } from '../core/kafka.js'
import { createLogger, type Logger } from '../core/logger.js'
import { createSchemaRegistry, type SchemaRegistry } from '../core/schema-registry.js'
import { TopicCatalog } from '../schemas/catalog.js'

/** What every command needs, built from the environment once. */
export interface CommandContext {
  config: Config
  logger: Logger
  kafka: Kafka
  registry: SchemaRegistry
  catalog: TopicCatalog
}

export function commandContext(clientId: string): CommandContext {
  const settings = config()
  // Commands talk to people on stdout; their own logs go to stderr and stay quiet unless asked.
  const logger = createLogger({ level: process.env['LOG_LEVEL'] === undefined ? 'warn' : settings.LOG_LEVEL, name: clientId, destination: process.stderr })
  return {
    config: settings,
    logger,
    kafka: createKafka({ brokers: settings.KAFKA_BROKERS, clientId, logger }),
    registry: createSchemaRegistry(settings.SCHEMA_REGISTRY_URL),
    catalog: new TopicCatalog({ prefix: settings.TOPIC_PREFIX, partitions: settings.TOPIC_PARTITIONS }),
  }
}
