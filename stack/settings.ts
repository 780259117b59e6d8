import { join } from 'node:path'
import type { Config } from '../core/config.js'

export interface Endpoint {
  host: string
  port: number
}

export interface StackSettings {
  stackDir: string
  kafka: Endpoint & { controllerPort: number; heap: string; brokers: string[] }
  registry: Endpoint & { url: string }
  redis: Endpoint & { url: string }
  prometheus: Endpoint & { url: string; targetsDir: string }
  metricsPort: number
}

function endpointOf(url: string, defaultPort: number): Endpoint {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: parsed.port === '' ? defaultPort : Number(parsed.port) }
}

/** Where each local service listens: read from the same variables the platform's clients use. */
export function stackSettings(config: Config): StackSettings {
  const [firstBroker = '127.0.0.1:9092'] = config.KAFKA_BROKERS
  const separator = firstBroker.lastIndexOf(':')
  return {
    stackDir: config.STACK_DIR,
    kafka: {
      host: firstBroker.slice(0, separator),
      port: Number(firstBroker.slice(separator + 1)),
      controllerPort: config.KAFKA_CONTROLLER_PORT,
      heap: config.KAFKA_HEAP,
      brokers: config.KAFKA_BROKERS,
    },
    registry: { ...endpointOf(config.SCHEMA_REGISTRY_URL, 80), url: config.SCHEMA_REGISTRY_URL },
    redis: { ...endpointOf(config.REDIS_URL, 6379), url: config.REDIS_URL },
    prometheus: {
      ...endpointOf(config.PROMETHEUS_URL, 9090),
      url: config.PROMETHEUS_URL,
      targetsDir: join(config.STACK_DIR, 'prometheus', 'targets'),
    },
    metricsPort: config.METRICS_PORT,
  }
}
