import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../core/config.js'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { createKafka } from '../core/kafka.js'
import { createLogger } from '../core/logger.js'
import { kafkaLog4j2, kafkaServerProperties } from './kafka-config.js'
import { findJava } from './java.js'
import { waitUntil } from './probes.js'
import { run } from './provision.js'
import { NativeService, type LaunchSpec, type Requirement } from './service.js'
import type { StackSettings } from './settings.js'

const silent = createLogger({ level: 'silent' })
const pomPath = join(projectRoot, 'stack', 'kafka', 'pom.xml')

/** Apache Kafka in KRaft mode (one combined broker and controller), jars from Maven Central. */
export class KafkaService extends NativeService {
  readonly name = 'kafka'
  override readonly readyTimeoutMs = 90_000

  constructor(stackDir: string, private readonly settings: StackSettings['kafka']) {
    super(stackDir, settings)
  }

  override requirements(): Requirement[] {
    return [{ tool: 'mvn', debianPackage: 'maven' }]
  }

  private get libs(): string {
    return join(this.dir, 'libs')
  }

  private get dataDir(): string {
    return join(this.dir, 'data')
  }

  private java(): string {
    const java = findJava(17)
    if (java === undefined) throw new ChurnError(ErrorCodes.STACK_UNSUPPORTED, 'kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)')
    return java.binary
  }

  async provision(progress: (line: string) => void): Promise<void> {
    const pomHash = createHash('sha256').update(readFileSync(pomPath)).digest('hex')
    const marker = join(this.libs, '.resolved-from')
    if (!existsSync(marker) || readFileSync(marker, 'utf8') !== pomHash) {
      progress('kafka: resolving the broker jars from Maven Central')
      rmSync(this.libs, { recursive: true, force: true })
      await run(
        'mvn',
        ['-q', '-B', '-f', pomPath, 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies', `-DoutputDirectory=${this.libs}`, '-DincludeScope=runtime'],
        { logFile: this.logFile, what: 'kafka: resolving jars with Maven' },
      )
      writeFileSync(marker, pomHash)
    }
    mkdirSync(this.dataDir, { recursive: true })
    writeFileSync(join(this.dir, 'server.properties'), kafkaServerProperties({ ...this.settings, dataDir: this.dataDir }))
    writeFileSync(join(this.dir, 'log4j2.yaml'), kafkaLog4j2)
    if (!existsSync(join(this.dataDir, 'meta.properties'))) {
      progress('kafka: formatting KRaft storage')
      // A cluster id is a random UUID in URL-safe base64 without padding, as the storage tool makes.
      const clusterId = randomBytes(16).toString('base64url')
      await run(this.java(), [...this.jvmFlags(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(this.dir, 'server.properties')], {
        logFile: this.logFile,
        what: 'kafka: formatting storage',
        cwd: this.dir,
      })
    }
  }

  private jvmFlags(): string[] {
    return [`-Dlog4j2.configurationFile=${join(this.dir, 'log4j2.yaml')}`, '-Djava.awt.headless=true', '-cp', `${this.libs}/*`]
  }

  protected launch(): LaunchSpec {
    return {
      command: this.java(),
      args: ['-Xms256m', `-Xmx${this.settings.heap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', ...this.jvmFlags(), 'kafka.Kafka', join(this.dir, 'server.properties')],
    }
  }

  async healthy(): Promise<boolean> {
    const admin = createKafka({ brokers: this.settings.brokers, clientId: 'churn-stack', logger: silent, connectionTimeout: 1_000, requestTimeout: 2_000 }).admin({
      retry: { retries: 0 },
    })
    try {
      await admin.connect()
      const cluster = await admin.describeCluster()
      return cluster.brokers.length > 0
    } catch {
      return false
    } finally {
      await admin.disconnect().catch(() => undefined)
    }
  }

  /**
   * Finds the group and transaction coordinators once, which creates `__consumer_offsets` and
   * `__transaction_state`: the first consumer group or transaction of a test then does not race
   * their creation.
   */
  protected override async warmUp(): Promise<void> {
    const kafka = createKafka({ brokers: this.settings.brokers, clientId: 'churn-stack', logger: silent })
    const admin = kafka.admin()
    const producer = kafka.producer({ transactionalId: 'churn-stack-warmup', idempotent: true, maxInFlightRequests: 1 })
    try {
      await admin.connect()
      const outcome = await waitUntil(
        async () => {
          try {
            await admin.describeGroups(['churn-stack-warmup'])
            await producer.connect()
            return true
          } catch {
            return false
          }
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      )
      if (!outcome.ready) throw new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `kafka: coordinators not available (${outcome.reason}); log: ${this.logFile}`)
    } finally {
      await producer.disconnect().catch(() => undefined)
      await admin.disconnect().catch(() => undefined)
    }
  }
}
