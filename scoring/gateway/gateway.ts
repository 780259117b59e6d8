import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Metadata, Server, ServerCredentials, status, type handleServerStreamingCall, type handleUnaryCall, type ServiceDefinition, type StatusObject } from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'
import { ReflectionService } from '@grpc/reflection'
import { HealthImplementation } from 'grpc-health-check'
import type { RoleContext, RunningRole } from '../../consumers/runtime/context.js'
import { projectRoot } from '../../core/config.js'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import type { Logger } from '../../core/logger.js'
import { createRedis, type Redis } from '../../core/redis.js'
import type { FeatureSet } from '../../feature-store/feature-set.js'
import { OnlineStore } from '../../feature-store/online/online-store.js'
import { startModelServing, type ModelServing } from '../serving.js'
import { ApiKeyVerifier, isLoopbackHost, presentedKey } from './auth.js'
import { CallScope } from './call-scope.js'
import { InferenceHandlers } from './inference-service.js'
import { gatewayMetrics, type GatewayMetrics } from './metrics.js'
import { parseGatewayOptions, type GatewayOptions, type GatewayOptionsInput } from './options.js'
import { gatewayPackageDefinition, serviceNames } from './protos.js'
import { ScoreFeed, type FeedScore } from './score-feed.js'
import { ScoringHandlers } from './scoring-service.js'
import { GatewayError, invalidArgument, statusName, toStatus } from './status.js'
import {
  fallbackLevelNames,
  riskBandNames,
  type ExplainRequest,
  type ModelInferRequest,
  type ScoreCustomerRequest,
  type ScoreManyRequest,
  type ScoreRawRequest,
  type ServiceState,
  type StreamedScore,
  type StreamScoresRequest,
} from './types.js'

export const gatewayRoleName = 'gateway'

function serviceDefinition(definition: PackageDefinition, name: string): ServiceDefinition {
  const service = definition[name]
  if (service === undefined || 'format' in service) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `service ${name} is not in the gateway's protos`)
  return service
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `${field}: cannot read ${path}: ${errorMessage(error)}`, { cause: error })
  }
}

/** `host:port` as gRPC addresses write it (IPv6 hosts in brackets). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version?: unknown }
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}

function streamedScore(score: FeedScore): StreamedScore {
  return {
    score: {
      customer_id: score.customerId,
      probability: score.probability,
      risk_band: riskBandNames[score.riskBand],
      model_version: score.modelVersion,
      feature_set_version: score.featureSetVersion,
      fallback_level: fallbackLevelNames[score.fallbackLevel],
      reasons: score.reasons.map((reason) => ({ feature: reason.feature, contribution: reason.contribution, ...(reason.value === null ? {} : { value: reason.value }) })),
      scored_at_ms: score.scoredAt,
    },
    feature_age_ms: score.featureAgeMs,
    source_event_time_ms: score.sourceEventTime,
  }
}

interface Parts {
  options: GatewayOptions
  logger: Logger
  metrics: GatewayMetrics
  serving: ModelServing
  redis: Redis
  feed: ScoreFeed
  features: FeatureSet
}

/**
 * The `gateway` role: a gRPC server with `churn.v1.ScoringService`, the Open Inference Protocol
 * (`inference.GRPCInferenceService`), `grpc.health.v1.Health` and server reflection. It scores with
 * the same engine, models and fallback chain as the streaming scorer, reads customers' features from
 * the online store over a connection of its own that fails fast, and tails `churn.scores` for
 * StreamScores. Start it with `startGateway`.
 */
export class Gateway implements RunningRole {
  readonly name = gatewayRoleName
  readonly #parts: Parts
  readonly #server: Server
  readonly #health: HealthImplementation
  readonly #verifier: ApiKeyVerifier
  readonly #scoring: ScoringHandlers
  readonly #inference: InferenceHandlers
  /** Ends each open StreamScores call with the given status. */
  readonly #streams = new Set<(code: status, details: string) => void>()
  #state: ServiceState = 'starting'
  #port = 0
  #closing: Promise<void> | undefined

  /** Use `startGateway`. */
  constructor(parts: Parts) {
    this.#parts = parts
    const { options, features, serving, redis } = parts
    this.#verifier = new ApiKeyVerifier(options.apiKeyHashes)
    this.#scoring = new ScoringHandlers({ features, serving, store: new OnlineStore(redis, { keyPrefix: options.keyPrefix }), options })
    this.#inference = new InferenceHandlers({
      features,
      scoring: this.#scoring,
      models: () => serving.manager.current,
      modelName: options.modelName,
      maxRows: options.maxRows,
      serverName: 'churn-gateway',
      serverVersion: packageVersion(),
      ready: () => this.#state === 'running',
    })
    this.#server = new Server({ 'grpc.max_receive_message_length': options.maxReceiveMessageBytes })
    this.#health = new HealthImplementation({ '': 'NOT_SERVING', [serviceNames.scoring]: 'NOT_SERVING', [serviceNames.inference]: 'NOT_SERVING' })
  }

  get state(): ServiceState {
    return this.#state
  }

  /** The port bound (the one picked when the options said 0). */
  get port(): number {
    return this.#port
  }

  /** Where a client on this machine reaches the gateway. */
  get address(): string {
    const { host } = this.#parts.options
    return formatAddress(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, this.#port)
  }

  /** Binds and starts answering; health turns SERVING. */
  async listen(): Promise<void> {
    const { options, logger } = this.#parts
    const definition = gatewayPackageDefinition()
    this.#server.addService(serviceDefinition(definition, serviceNames.scoring), {
      ScoreCustomer: this.#unary('ScoreCustomer', (request: ScoreCustomerRequest, scope: CallScope) => this.#scoring.scoreCustomer(request, scope)),
      ScoreRaw: this.#unary('ScoreRaw', (request: ScoreRawRequest, scope: CallScope) => this.#scoring.scoreRaw(request, scope)),
      ScoreMany: this.#unary('ScoreMany', (request: ScoreManyRequest, scope: CallScope) => this.#scoring.scoreMany(request, scope)),
      Explain: this.#unary('Explain', (request: ExplainRequest, scope: CallScope) => this.#scoring.explain(request, scope)),
      StreamScores: this.#streamScores,
      GetModelInfo: this.#unary('GetModelInfo', () => this.#scoring.modelInfo()),
    })
    this.#server.addService(serviceDefinition(definition, serviceNames.inference), {
      ServerLive: this.#unary('ServerLive', () => this.#inference.serverLive()),
      ServerReady: this.#unary('ServerReady', () => this.#inference.serverReady()),
      ServerMetadata: this.#unary('ServerMetadata', () => this.#inference.serverMetadata()),
      ModelReady: this.#unary('ModelReady', (request: { name: string; version: string }) => this.#inference.modelReady(request)),
      ModelMetadata: this.#unary('ModelMetadata', (request: { name: string; version: string }) => this.#inference.modelMetadata(request)),
      ModelInfer: this.#unary('ModelInfer', (request: ModelInferRequest, scope: CallScope) => this.#inference.modelInfer(request, scope)),
    })
    // Health and reflection are added as they come: they need no key, so load balancers and grpcurl can use them.
    this.#health.addToServer(this.#server)
    new ReflectionService(definition).addToServer(this.#server)
    const credentials = options.tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(null, [{ cert_chain: readPem(options.tls.certPath, 'tls.certPath (GATEWAY_TLS_CERT)'), private_key: readPem(options.tls.keyPath, 'tls.keyPath (GATEWAY_TLS_KEY)') }], false)
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(formatAddress(options.host, options.port), credentials, (error, port) => {
        if (error) reject(new ChurnError(ErrorCodes.CONFIG_INVALID, `gateway cannot listen on ${formatAddress(options.host, options.port)}: ${error.message}`, { cause: error }))
        else resolve(port)
      })
    })
    this.#state = 'running'
    for (const service of ['', serviceNames.scoring, serviceNames.inference]) this.#health.setStatus(service, 'SERVING')
    logger.info({ address: formatAddress(options.host, this.#port), tls: options.tls !== undefined, auth: this.#verifier.enabled, maxRows: options.maxRows }, 'gateway listening')
  }

  #authenticate(metadata: Metadata): void {
    if (!this.#verifier.verify(presentedKey(metadata))) {
      throw new GatewayError(status.UNAUTHENTICATED, 'a valid API key is required: send it as `x-api-key` metadata (or `authorization: Bearer <key>`)')
    }
  }

  /** A unary handler with authentication, deadline checks, status mapping and metrics. */
  #unary<Req, Res>(method: string, handle: (request: Req, scope: CallScope) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
    const { metrics, logger } = this.#parts
    return (call, callback) => {
      const stopTimer = metrics.duration.startTimer({ method })
      const scope = new CallScope(call.getDeadline(), () => call.cancelled)
      const finish = (code: status): void => {
        metrics.requests.inc({ method, code: statusName(code) })
        stopTimer()
      }
      const fail = (error: unknown): void => {
        const outcome = toStatus(error, logger, method)
        callback(outcome)
        finish(outcome.code)
      }
      const run = async (): Promise<Res> => {
        this.#authenticate(call.metadata)
        scope.check()
        return handle(call.request, scope)
      }
      run().then((response) => {
        // The client stopped waiting (gRPC has already answered it): count why, send nothing.
        if (scope.expired) {
          fail(new GatewayError(status.DEADLINE_EXCEEDED, 'deadline exceeded before the call completed'))
          return
        }
        callback(null, response)
        finish(status.OK)
      }, fail)
    }
  }

  readonly #streamScores: handleServerStreamingCall<StreamScoresRequest, StreamedScore> = (call) => {
    const method = 'StreamScores'
    const { metrics, logger, feed, options } = this.#parts
    const stopTimer = metrics.duration.startTimer({ method })
    const scope = new CallScope(call.getDeadline(), () => call.cancelled)
    let finished = false
    const cleanups: (() => void)[] = []
    const finish = (code: status, details = ''): void => {
      if (finished) return
      finished = true
      for (const cleanup of cleanups) cleanup()
      metrics.requests.inc({ method, code: statusName(code) })
      stopTimer()
      if (code === status.OK) {
        call.end()
      } else if (!call.cancelled) {
        const outcome: Partial<StatusObject> = { code, details, metadata: new Metadata() }
        call.emit('error', outcome)
      }
    }
    try {
      this.#authenticate(call.metadata)
      scope.check()
      const { customer_ids: ids, min_probability: minProbability } = call.request
      if (!(minProbability >= 0 && minProbability <= 1)) throw invalidArgument('min_probability', `expected a probability in [0, 1], got ${minProbability}`)
      if (ids.length > 10_000) throw invalidArgument('customer_ids', `at most 10000 customers per stream, got ${ids.length}`)
      if (this.#state !== 'running') throw new GatewayError(status.UNAVAILABLE, 'the gateway is shutting down')
      const customers = new Set(ids)
      metrics.streams.inc()
      cleanups.push(() => { metrics.streams.dec() })
      cleanups.push(feed.subscribe((score) => {
        if (customers.size > 0 && !customers.has(score.customerId)) return
        if (score.probability < minProbability) return
        // A client that does not read would make the server buffer without bound: it is let go instead.
        if (call.writableLength >= options.streamBufferLimit) {
          finish(status.RESOURCE_EXHAUSTED, `the client reads too slowly: ${call.writableLength} scores waiting to be sent`)
          return
        }
        call.write(streamedScore(score))
      }))
      cleanups.push(feed.onFailure((error) => { finish(status.UNAVAILABLE, `the score feed stopped: ${error.message}`) }))
      const end = (code: status, details: string): void => { finish(code, details) }
      this.#streams.add(end)
      cleanups.push(() => this.#streams.delete(end))
      const remaining = scope.remainingMs()
      if (Number.isFinite(remaining)) {
        const timer = setTimeout(() => { finish(status.DEADLINE_EXCEEDED, 'deadline exceeded') }, Math.max(0, remaining))
        cleanups.push(() => { clearTimeout(timer) })
      }
      call.on('cancelled', () => { finish(scope.expired ? status.DEADLINE_EXCEEDED : status.CANCELLED) })
      // Headers tell the client it is subscribed: every score written from now on reaches it.
      call.sendMetadata(new Metadata())
    } catch (error) {
      const outcome = toStatus(error, logger, method)
      finish(outcome.code, outcome.details ?? '')
    }
  }

  /** Stops answering: health NOT_SERVING, open streams ended (UNAVAILABLE), calls in flight given `shutdownGraceMs`. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const { options, logger, feed, redis, serving } = this.#parts
    this.#state = 'draining'
    for (const service of ['', serviceNames.scoring, serviceNames.inference]) this.#health.setStatus(service, 'NOT_SERVING')
    for (const end of [...this.#streams]) end(status.UNAVAILABLE, 'the gateway is shutting down')
    const steps: [string, () => Promise<void>][] = [
      ['server', async () => {
        let timer: NodeJS.Timeout | undefined
        await new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.#server.forceShutdown()
            resolve()
          }, options.shutdownGraceMs)
          this.#server.tryShutdown(() => { resolve() })
        })
        clearTimeout(timer)
      }],
      ['score feed', () => feed.close()],
      ['online store connection', () => {
        redis.disconnect()
        return Promise.resolve()
      }],
      ['models', () => serving.close()],
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (error) {
        logger.error({ err: error, step: name }, `gateway shutdown step failed: ${errorMessage(error)}`)
      }
    }
    this.#state = 'stopped'
    logger.info('gateway stopped')
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/**
 * Starts the gateway: models first (so the first call is scored by the champion), then the online
 * store connection and the score feed, then the server. Beyond loopback it refuses to start
 * without API keys. What started is closed again if a later step fails.
 */
export async function startGateway(context: RoleContext, featureSet: FeatureSet, input: GatewayOptionsInput = {}): Promise<Gateway> {
  const options = parseGatewayOptions(input)
  const logger = context.logger.child({ role: gatewayRoleName })
  if (!isLoopbackHost(options.host) && options.apiKeyHashes.length === 0) {
    throw new ChurnError(
      ErrorCodes.CONFIG_INVALID,
      `the gateway would listen on ${options.host}, beyond loopback, without API keys: set GATEWAY_API_KEY_HASHES to the SHA-256 (hex) of each key ` +
        '(e.g. `printf %s "$KEY" | sha256sum`), or listen on 127.0.0.1 (GATEWAY_HOST)',
    )
  }
  if (!isLoopbackHost(options.host) && options.tls === undefined) logger.warn({ host: options.host }, 'gateway listens beyond loopback without TLS: API keys and scores travel in plaintext')
  const opened: (() => Promise<void>)[] = []
  try {
    const serving = await startModelServing(context, featureSet, { logger, thresholds: options.thresholds, topReasons: options.topReasons, defaultBaseRate: options.defaultBaseRate, rules: options.rules, modelCatchUpMs: options.modelCatchUpMs })
    opened.push(() => serving.close())
    // Its own connection: no offline queue, so with Redis down a read fails at once instead of waiting for a reconnect.
    const redis = createRedis(options.redisUrl ?? context.config.REDIS_URL, { enableOfflineQueue: false, commandTimeout: options.redisTimeoutMs, maxRetriesPerRequest: 0, connectTimeout: 1_000 })
    opened.push(() => {
      redis.disconnect()
      return Promise.resolve()
    })
    // One line per outage, not one per reconnect attempt.
    let healthy: boolean | undefined
    redis.on('error', (error: unknown) => {
      if (healthy === true) logger.warn({ err: error }, `online store connection lost: ${errorMessage(error)}`)
      healthy = false
    })
    redis.on('ready', () => {
      if (healthy === false) logger.info('online store connection back')
      healthy = true
    })
    // Not awaited to the end: with Redis down the gateway still starts (raw scoring needs no store) and reconnects.
    await redis.connect().catch((error: unknown) => { logger.warn({ err: error }, `online store not reachable at start: ${errorMessage(error)}`) })
    // A group per gateway: two gateways of one process must each see every partition.
    const feed = new ScoreFeed({ kafka: context.kafka, registry: context.registry, catalog: context.catalog, logger, groupId: `${context.catalog.prefix}churn-gateway-${context.instanceId}-${randomUUID().slice(0, 8)}` })
    opened.push(() => feed.close())
    await feed.start()
    const gateway = new Gateway({ options, logger, metrics: gatewayMetrics(context.metrics), serving, redis, feed, features: featureSet })
    opened.length = 0
    try {
      await gateway.listen()
    } catch (error) {
      await gateway.close()
      throw error
    }
    return gateway
  } catch (error) {
    for (const close of opened.reverse()) {
      try {
        await close()
      } catch (cleanupError) {
        logger.error({ err: cleanupError }, `cleanup after a failed gateway start failed: ${errorMessage(cleanupError)}`)
      }
    }
    throw error
  }
}
