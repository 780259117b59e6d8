import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { ChurnError, ErrorCodes } from './errors.js'

function findProjectRoot(start: string): string {
  let dir = start
  while (!existsSync(resolve(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) return start
    dir = parent
  }
  return dir
}

/** Repository root (from sources or from `dist/`): state and the stack's files are found relative to it. */
export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)))

const hostPort = z
  .string()
  .regex(/^[^\s:,]+:\d{1,5}$/u, 'expected host:port')

const brokerList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0))
  .pipe(z.array(hostPort).min(1, 'expected at least one host:port'))

const port = z.coerce.number().int().min(0).max(65_535)

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes')

/**
 * Every environment variable the platform reads, with its default. Parsed once, at the edge.
 */
export const envSchema = z.object({
  /** Kafka bootstrap brokers, comma separated. @default 127.0.0.1:9092 */
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  /** Port of the local KRaft controller listener (native stack only). @default 9093 */
  KAFKA_CONTROLLER_PORT: port.default(9093),
  /**
   * Base URL of the Confluent-compatible schema registry API.
   * @default http://127.0.0.1:8081/apis/ccompat/v7 (the native stack's Apicurio Registry), or
   * http://127.0.0.1:8081 with STACK_MODE=docker (Confluent Schema Registry)
   */
  SCHEMA_REGISTRY_URL: z.url().optional(),
  /** Redis online store. @default redis://127.0.0.1:6379 */
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** A ClickHouse server; when unset every component uses the embedded engine at CLICKHOUSE_PATH. */
  CLICKHOUSE_URL: z.url().optional(),
  /** Data folder of the embedded ClickHouse engine. @default .stack/clickhouse */
  CLICKHOUSE_PATH: z.string().min(1).optional(),
  /** Prometheus HTTP API. @default http://127.0.0.1:9090 */
  PROMETHEUS_URL: z.url().default('http://127.0.0.1:9090'),
  /** Port of this process's /metrics endpoint (0 picks a free one). @default 9464 */
  METRICS_PORT: port.default(9464),
  /** Address the /metrics endpoint listens on. @default 127.0.0.1 */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Prepended to every topic name and consumer group (isolated environments). @default '' */
  TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/u, 'expected letters, digits, . _ -').default(''),
  /** Partitions of the per-customer topics when `churn topics apply` creates them. @default 6 */
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1_000).default(6),
  /** Prefix of the online store's Redis keys. @default churn: */
  ONLINE_KEY_PREFIX: z.string().default('churn:'),
  /** How long a consumer group waits for a silent member before rebalancing (Kafka allows 6000 and up). @default 30000 */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  /** Bytes the ingest role fetches per partition and request, which bounds a batch. @default 1048576 */
  INGEST_MAX_BYTES_PER_PARTITION: z.coerce.number().int().min(1_024).default(1_048_576),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the native stack keeps its binaries, data and logs. @default .stack */
  STACK_DIR: z.string().min(1).optional(),
  /** Force the stack to the native (`native`) or Docker Compose (`docker`) path. @default auto */
  STACK_MODE: z.enum(['auto', 'native', 'docker']).default('auto'),
  /** Milliseconds a process may spend shutting down before it exits anyway. @default 15000 */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** Extra JVM heap for the local Kafka broker. @default 1g */
  KAFKA_HEAP: z.string().regex(/^\d+[mg]$/u, 'expected a JVM size such as 512m or 1g').default('1g'),
  /** Print logs as JSON (default) or as plain lines for terminals. */
  LOG_PRETTY: booleanFlag.default(false),

  // --- OFFLINE_SINK_* : offline sink role (`churn run --roles offline-sink`). ---
  // Unset, each takes the role's default (consumers/offline-sink/options.ts), whose bounds these repeat.
  /** Rows per insert: a batch is written as soon as it has this many. @default 50000 */
  OFFLINE_SINK_BATCH_ROWS: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /** Milliseconds a row waits for its batch to fill before the batch is written anyway. @default 1000 */
  OFFLINE_SINK_BATCH_DELAY_MS: z.coerce.number().int().min(0).max(600_000).optional(),
  /** Rows held per topic; fetching pauses at this many and resumes below half. At least the batch rows. @default 100000 */
  OFFLINE_SINK_MAX_PENDING_ROWS: z.coerce.number().int().min(1).optional(),
  /** First delay before retrying a failed insert; doubles per attempt. @default 100 */
  OFFLINE_SINK_INITIAL_RETRY_MS: z.coerce.number().int().min(1).optional(),
  /** Longest delay between insert attempts. At least the initial retry delay. @default 10000 */
  OFFLINE_SINK_MAX_RETRY_MS: z.coerce.number().int().min(1).optional(),
  // --- end OFFLINE_SINK_* ---

  // Scorer role (`churn run --roles scorer`). Unset, each takes the role's default (consumers/scorer/options.ts).
  /** Suppress a score that moved less than this since the customer's last one and kept its risk band. @default 0 (emit all) */
  SCORER_EPSILON: z.coerce.number().min(0).max(1).optional(),
  /** Risk band boundaries "medium,high,critical", e.g. 0.15,0.35,0.6. */
  SCORER_RISK_THRESHOLDS: z
    .string()
    .regex(/^\s*0?\.\d+\s*,\s*0?\.\d+\s*,\s*0?\.\d+\s*$/u, 'expected three probabilities "medium,high,critical", e.g. 0.15,0.35,0.6')
    .refine((text) => {
      const [medium = 0, high = 0, critical = 0] = text.split(',').map(Number)
      return medium > 0 && medium < high && high < critical && critical < 1
    }, 'risk thresholds must increase: 0 < medium < high < critical < 1')
    .optional(),
  /** Churn rate of the base-rate fallback when no champion states its training rate. @default 0.1 */
  SCORER_BASE_RATE: z.coerce.number().gt(0).lt(1).optional(),
  /** Reasons (exact TreeSHAP contributions) in each streamed score; 0 leaves them out, which makes scoring several times cheaper. @default 3 */
  SCORER_TOP_REASONS: z.coerce.number().int().min(0).max(64).optional(),
  /** Use the declared business rules as the fallback level before the base rate. @default true */
  SCORER_RULES: booleanFlag.optional(),

  // Trainer role (`churn run --roles trainer`). Unset, each takes the role's default (consumers/trainer/options.ts).
  /** Wall-clock milliseconds after a training run before the next may start; requests meanwhile coalesce. @default 600000 */
  TRAINER_COOLDOWN_MS: z.coerce.number().int().min(0).optional(),
  /** Label horizon: "cancelled within this many days". @default 30 */
  TRAINER_HORIZON_DAYS: z.coerce.number().int().min(1).max(365).optional(),
  /** Observe every active customer every this many days. @default 7 */
  TRAINER_SAMPLE_EVERY_DAYS: z.coerce.number().int().min(1).max(365).optional(),
  /** Oldest observation, in days before the newest. @default 365 */
  TRAINER_LOOKBACK_DAYS: z.coerce.number().int().min(1).max(3_650).optional(),
  /** Days before the data end whose streamed feature vectors are a new model's drift reference. @default 28 */
  TRAINER_REFERENCE_DAYS: z.coerce.number().int().min(1).max(365).optional(),
  /** Where training runs: a worker thread, inline on the role's thread, or auto (a worker in the compiled build). @default auto */
  TRAINER_THREAD: z.enum(['auto', 'worker', 'inline']).optional(),
  /** A drift-triggered run trains on this many days of observations from the drift's start, once their labels have matured (well above 1.25 x the horizon). @default 90 */
  TRAINER_POST_DRIFT_DAYS: z.coerce.number().int().min(1).max(365).optional(),
  /** How often a run waiting for those data checks the offline store again, in ms. @default 30000 */
  TRAINER_DATA_WAIT_CHECK_MS: z.coerce.number().int().min(100).optional(),
  /** Promotion gate: ROC-AUC floor on the holdout. @default 0.65 */
  TRAINER_GATE_MIN_ROC_AUC: z.coerce.number().min(0).max(1).optional(),
  /** Promotion gate: ROC-AUC the challenger must add over the champion on the same holdout. @default 0.005 */
  TRAINER_GATE_MIN_IMPROVEMENT: z.coerce.number().min(0).max(1).optional(),

  // --- DRIFT_* : drift role (`churn run --roles drift`). ---
  // Unset, each takes the default of drift/options.ts or consumers/drift/options.ts, whose bounds these repeat.
  /** Event-time tumbling window size. @default 86400000 (1 day) */
  DRIFT_WINDOW_MS: z.coerce.number().int().positive().optional(),
  /** How far behind the newest event time of an input a record still counts; later ones are counted as late. @default 3600000 */
  DRIFT_ALLOWED_LATENESS_MS: z.coerce.number().int().min(0).optional(),
  /** Breaching windows in a row before retraining is requested. @default 3 */
  DRIFT_CONSECUTIVE_WINDOWS: z.coerce.number().int().min(1).optional(),
  /** Least event time between two drift or performance retrain requests. @default 604800000 (7 days) */
  DRIFT_COOLDOWN_MS: z.coerce.number().int().min(0).optional(),
  /** A feature drifted when its PSI is at least this. @default 0.2 */
  DRIFT_PSI_THRESHOLD: z.coerce.number().positive().optional(),
  /** Request retraining every this many hours of event time whatever the drift; 0 turns the schedule off. @default 0 */
  DRIFT_SCHEDULE_HOURS: z.coerce.number().min(0).optional(),
  /** Bytes fetched per input partition and request, which bounds a batch (one transaction and snapshot each). @default 1048576 */
  DRIFT_MAX_BYTES_PER_PARTITION: z.coerce.number().int().min(1_024).optional(),
  // --- end DRIFT_* ---

  // --- GATEWAY_* : gRPC gateway role (`churn run --roles gateway`) and its clients (`churn score`). ---
  // Unset, each takes the gateway's default (scoring/gateway/options.ts). Scores use the SCORER_* thresholds, base rate and rules.
  /** Address the gateway listens on; anything beyond loopback requires GATEWAY_API_KEY_HASHES. @default 127.0.0.1 */
  GATEWAY_HOST: z.string().min(1).optional(),
  /** Port the gateway listens on (0 picks a free one). @default 50051 */
  GATEWAY_PORT: port.optional(),
  /** SHA-256 (hex) of each accepted API key, comma separated; when set, every scoring call needs `x-api-key`. */
  GATEWAY_API_KEY_HASHES: z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim().toLowerCase()).filter((part) => part.length > 0))
    .pipe(z.array(z.string().regex(/^[0-9a-f]{64}$/u, 'expected SHA-256 hashes in hex (64 characters), comma separated')))
    .optional(),
  /** TLS certificate chain (PEM path) of the gateway; set with GATEWAY_TLS_KEY. Unset: plaintext. */
  GATEWAY_TLS_CERT: z.string().min(1).optional(),
  /** TLS private key (PEM path) of the gateway. */
  GATEWAY_TLS_KEY: z.string().min(1).optional(),
  /** Most rows per ScoreMany or ModelInfer request. @default 1000 */
  GATEWAY_MAX_ROWS: z.coerce.number().int().min(1).max(100_000).optional(),
  /** Largest request message the gateway accepts, in bytes. @default 4194304 */
  GATEWAY_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1_024).max(256 * 1_048_576).optional(),
  /** Milliseconds an online-store read may take before the call fails UNAVAILABLE. @default 500 */
  GATEWAY_REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).optional(),
  /** Where clients (`churn score`) reach the gateway. @default GATEWAY_HOST:GATEWAY_PORT (loopback for a wildcard host) */
  GATEWAY_ADDRESS: hostPort.optional(),
  /** The API key clients (`churn score`) send. */
  GATEWAY_API_KEY: z.string().min(1).optional(),
  /** CA certificate (PEM path) clients trust for a TLS gateway. @default GATEWAY_TLS_CERT (a self-signed gateway) */
  GATEWAY_TLS_CA: z.string().min(1).optional(),
  // --- end GATEWAY_* ---
})

export type EnvInput = z.input<typeof envSchema>
export type Config = Omit<z.output<typeof envSchema>, 'STACK_DIR' | 'CLICKHOUSE_PATH' | 'SCHEMA_REGISTRY_URL'> & {
  STACK_DIR: string
  CLICKHOUSE_PATH: string
  SCHEMA_REGISTRY_URL: string
}

/** Parses an environment; an error names each bad variable and what was expected. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in envSchema.shape && value !== undefined && value !== ''),
  )
  const result = envSchema.safeParse(present)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '(environment)')
      const got = env[variable]
      return `${variable}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`
    })
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `Invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    })
  }
  const stackDir = resolve(projectRoot, result.data.STACK_DIR ?? '.stack')
  const registryDefault = result.data.STACK_MODE === 'docker' ? 'http://127.0.0.1:8081' : 'http://127.0.0.1:8081/apis/ccompat/v7'
  return {
    ...result.data,
    SCHEMA_REGISTRY_URL: result.data.SCHEMA_REGISTRY_URL ?? registryDefault,
    STACK_DIR: stackDir,
    CLICKHOUSE_PATH: resolve(projectRoot, result.data.CLICKHOUSE_PATH ?? resolve(stackDir, 'clickhouse')),
  }
}

let cached: Config | undefined

/** The process configuration, parsed from `process.env` on first use. */
export function config(): Config {
  cached ??= parseConfig(process.env)
  return cached
}
