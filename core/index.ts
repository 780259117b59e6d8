export { config, parseConfig, envSchema, projectRoot, type Config, type EnvInput } from './config.js'
export { ChurnError, ErrorCodes, isChurnError, errorMessage, type ErrorCode } from './errors.js'
export { createLogger, redactedPaths, type Logger } from './logger.js'
export { createMetricsRegistry, startMetricsServer, type MetricsServer } from './metrics.js'
export { Lifecycle, type ServiceState } from './lifecycle.js'
export {
  createKafka,
  createIdempotentProducer,
  TransactionalPipeline,
  nextOffset,
  type TransactionalPipelineOptions,
} from './kafka.js'
export { createRedis, type Redis } from './redis.js'
export { createOfflineClient, type ClickHouseClient } from './clickhouse.js'
export { createSchemaRegistry, SchemaRegistry } from './schema-registry.js'
