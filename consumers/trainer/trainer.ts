import type { ClickHouseClient } from '@clickhouse/client'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs'
import type { Registry } from 'prom-client'
import { ConsumerLagGauge } from '../../core/consumer-lag.js'
import { deadLetterHeaders, headerText } from '../../core/dead-letter.js'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import { createIdempotentProducer, nextOffset } from '../../core/kafka.js'
import type { Logger } from '../../core/logger.js'
import { RecordCounts, type UncommittedRecords } from '../../core/record-counts.js'
import { DAY_MS, type FeatureSet } from '../../feature-store/feature-set.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicCatalog } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import { isInsufficientData, publishCandidates, trainCandidatesOffThread, type ChampionArtifact } from '../../trainer/pipeline/index.js'
import { ModelEventPublisher, ModelRegistry } from '../../trainer/registry/index.js'
import type { RoleDefinition, RunningRole } from '../runtime/context.js'
import { recordRun, trainerMetrics, type TrainerMetrics } from './metrics.js'
import { parseTrainerOptions, trainerOptionsFromConfig, type TrainerOptions, type TrainerOptionsInput } from './options.js'
import { RetrainQueue, type RetrainRun } from './request-queue.js'
import { decodeRequests } from './requests.js'
import { loadTrainingData, type LoadedTrainingData } from './training-data.js'
import type { RetrainRequestInfo, RunOutcome, TrainerState } from './types.js'

export const trainerRoleName = 'trainer'
const actor = 'trainer'

export interface TrainerDependencies {
  kafka: Kafka
  registry: SchemaRegistry
  catalog: TopicCatalog
  /** The offline store: training data and the model registry. The trainer uses it and never closes it. */
  client: ClickHouseClient
  logger: Logger
  /** Where the trainer's metrics are registered. */
  metrics: Registry
  featureSet: FeatureSet
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** Why a run happened, for the registry's audit trail: its requests, listed, and how many coalesced. */
function describeRun(run: RetrainRun, loaded: LoadedTrainingData): string {
  const listed = run.requests.map((request) => `${request.id} (${request.reason})`)
  const more = run.count - run.requests.length
  const requests = `${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`
  const coalesced = run.count > 1 ? `, ${run.count} requests coalesced into one run` : ''
  return `retrain requested by ${requests}${coalesced}; data to ${iso(loaded.dataEnd)}`
}

/**
 * The `trainer` role. Consumes `churn.retrain.requests` (plain consumer group, read_committed, no auto-commit) and
 * hands each request to a queue that coalesces them into runs and spaces runs by a cooldown. A run builds the
 * training set from the offline store (point in time), trains the GBDT challenger and the logistic baseline on a
 * worker thread, scores them and the champion on the same most recent holdout, registers both, and promotes the
 * challenger or rejects it with the gate's reasons; every transition is published on `churn.model.events`.
 *
 * Fetching goes on while a run trains (requests only queue up), so the group's heartbeats never wait for training.
 * An offset is committed only once every request up to it is handled: a crash mid-run runs its requests again.
 */
export class Trainer implements RunningRole {
  readonly name = trainerRoleName
  readonly #deps: TrainerDependencies
  readonly #options: TrainerOptions
  readonly #logger: Logger
  readonly #metrics: TrainerMetrics
  readonly #groupId: string
  readonly #consumer: Consumer
  readonly #producer: Producer
  readonly #events: ModelEventPublisher
  readonly #models: ModelRegistry
  readonly #codec: AvroCodec
  readonly #queue: RetrainQueue
  readonly #abort = new AbortController()
  /** `churn_records_*_total` of consumed batches, counted once their offsets are committed. */
  readonly #records: UncommittedRecords
  readonly #lag: ConsumerLagGauge
  #state: TrainerState = 'idle'
  #accepting = false
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #commits: Promise<void> = Promise.resolve()
  #runs = 0
  #closing: Promise<void> | undefined

  constructor(deps: TrainerDependencies, options: TrainerOptionsInput = {}) {
    this.#deps = deps
    this.#options = parseTrainerOptions(options)
    this.#logger = deps.logger.child({ role: trainerRoleName })
    this.#metrics = trainerMetrics(deps.metrics)
    this.#groupId = this.#options.groupId ?? `${deps.catalog.prefix}churn-trainer`
    this.#consumer = deps.kafka.consumer({
      groupId: this.#groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: this.#options.sessionTimeoutMs,
      rebalanceTimeout: Math.max(10_000, 2 * this.#options.sessionTimeoutMs),
    })
    this.#producer = createIdempotentProducer(deps.kafka)
    this.#events = new ModelEventPublisher(deps.kafka, deps.registry, deps.catalog)
    this.#models = new ModelRegistry(deps.client, { modelName: this.#options.modelName, onTransition: this.#events.listener })
    this.#codec = new AvroCodec(deps.registry, loadSchema('retrainRequest'), `${deps.catalog.retrainRequests.name}-value`)
    this.#queue = new RetrainQueue({ cooldownMs: this.#options.cooldownMs, maxAttempts: this.#options.maxAttempts })
    this.#records = new RecordCounts(deps.metrics, trainerRoleName).uncommitted()
    this.#lag = new ConsumerLagGauge({ kafka: deps.kafka, consumer: this.#consumer, groupId: this.#groupId, registry: deps.metrics, logger: this.#logger })
    // KafkaJS skips batches of only commit markers (requests come in transactions) without calling eachBatch;
    // committing past them keeps the group's lag at zero.
    this.#consumer.on(this.#consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || !this.#accepting) return
      this.#queue.skip(payload.partition, payload.lastOffset)
      void this.#commit()
    })
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      this.#logger.error({ err: payload.error, restart: payload.restart }, 'trainer consumer crashed')
      if (!payload.restart && this.#state === 'running') this.#state = 'failed'
    })
  }

  get state(): TrainerState {
    return this.#state
  }

  get groupId(): string {
    return this.#groupId
  }

  /** Migrates the offline store, joins the consumer group and starts consuming and training. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new ChurnError(ErrorCodes.CLOSED, `trainer is ${this.#state}`)
    this.#state = 'starting'
    const topic = this.#deps.catalog.retrainRequests.name
    try {
      await migrate(this.#deps.client)
      await this.#producer.connect()
      await this.#consumer.connect()
      await this.#consumer.subscribe({ topics: [topic], fromBeginning: this.#options.fromBeginning })
      this.#accepting = true
      await this.#consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (payload) => this.#onBatch(payload) })
    } catch (error) {
      this.#accepting = false
      for (const release of [() => this.#consumer.disconnect(), () => this.#producer.disconnect()]) {
        await release().catch((releaseError: unknown) => { this.#logger.warn({ err: releaseError }, 'releasing after a failed start failed') })
      }
      this.#state = 'stopped'
      throw error
    }
    this.#loop = this.#runLoop().catch((error: unknown) => {
      this.#logger.error({ err: error }, 'trainer loop failed')
      if (this.#state === 'running') this.#state = 'failed'
    })
    this.#state = 'running'
    const { cooldownMs, horizonDays, sampleEveryDays, thread } = this.#options
    this.#logger.info({ groupId: this.#groupId, topic, cooldownMs, horizonDays, sampleEveryDays, thread }, 'trainer consuming retrain requests')
  }

  /**
   * Stops fetching, aborts a run that is still training (its requests stay uncommitted, so they run again after a
   * restart), lets a run that is registering finish, commits, and disconnects. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #shutdown(): Promise<void> {
    const consuming = this.#state === 'starting' || this.#state === 'running' || this.#state === 'failed'
    this.#state = 'draining'
    this.#accepting = false
    this.#abort.abort(new ChurnError(ErrorCodes.CLOSED, 'the trainer is closing'))
    this.#wake?.()
    const failures: string[] = []
    const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run()
      } catch (error) {
        failures.push(`${name}: ${errorMessage(error)}`)
      }
    }
    await step('finish the run in hand', () => this.#loop ?? Promise.resolve())
    if (consuming) await step('commit', () => this.#commit())
    await step('disconnect consumer', () => this.#consumer.disconnect())
    await step('disconnect producer', () => this.#producer.disconnect())
    await step('close model events', () => this.#events.close())
    await step('stop reporting lag', () => this.#lag.close())
    this.#state = 'stopped'
    if (failures.length > 0) throw new ChurnError(ErrorCodes.CLOSED, `closing the trainer: ${failures.join('; ')}`)
    this.#logger.info({ groupId: this.#groupId }, 'trainer closed')
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (!this.#accepting || !payload.isRunning() || payload.isStale() || batch.isEmpty()) return
    const { entries } = await decodeRequests(this.#codec, batch, trainerRoleName)
    const deadLetters = entries.flatMap((entry) => ('deadLetter' in entry ? [entry.deadLetter] : []))
    // Bad records are in the dead-letter topic before any offset past them can be committed.
    if (deadLetters.length > 0) {
      await this.#producer.send({ topic: this.#deps.catalog.deadLetter(this.#deps.catalog.retrainRequests).name, acks: -1, messages: deadLetters })
    }
    this.#records.consumed(batch.topic, batch.partition, nextOffset(batch.lastOffset()), batch.messages.length, [{ topic: this.#deps.catalog.deadLetter(this.#deps.catalog.retrainRequests).name, messages: deadLetters }])
    for (const entry of entries) {
      if ('deadLetter' in entry) {
        this.#queue.skip(batch.partition, entry.offset)
        this.#metrics.requestsDeadLettered.inc({ reason: headerText(entry.deadLetter.headers, deadLetterHeaders.reason) ?? entry.reason })
        this.#logger.warn({ partition: batch.partition, offset: entry.offset, reason: entry.reason }, 'retrain request dead-lettered')
        continue
      }
      const request = this.#matured(entry.request)
      const outcome = this.#queue.offer(request)
      this.#metrics.requestsConsumed.inc()
      if (outcome !== 'queued') this.#metrics.requestsCoalesced.inc()
      const running = this.#queue.running
      this.#logger.info(
        { requestId: request.id, reason: request.reason, eventTime: iso(request.eventTime), outcome, pending: this.#queue.pendingCount, ...(running === undefined ? {} : { training: running.requests[0]?.id }) },
        outcome === 'covered' ? 'retrain request covered by the data of a finished run' : outcome === 'queued' ? 'retrain request queued' : 'retrain request coalesced into the pending run',
      )
    }
    this.#metrics.pendingRequests.set(this.#queue.pendingCount)
    // Past a commit marker that ends the batch too.
    this.#queue.skip(batch.partition, batch.lastOffset())
    payload.resolveOffset(batch.lastOffset())
    await payload.heartbeat()
    this.#wake?.()
    await this.#commit()
  }

  /**
   * A drift or performance request is raised when the drift is seen, but a model of the drifted customers needs their
   * labels: its event time moves on to when `postDriftDays` of them have matured after the drift's start.
   */
  #matured(request: RetrainRequestInfo): RetrainRequestInfo {
    if (request.driftFrom === undefined) return request
    const matured = request.driftFrom + (this.#options.postDriftDays + this.#options.horizonDays) * DAY_MS
    return matured <= request.eventTime ? request : { ...request, eventTime: matured }
  }

  async #runLoop(): Promise<void> {
    const { signal } = this.#abort
    while (!signal.aborted) {
      const run = this.#queue.take(Date.now())
      if (run === undefined) {
        await this.#sleep(this.#queue.readyIn(Date.now()))
        continue
      }
      this.#metrics.pendingRequests.set(this.#queue.pendingCount)
      const outcome = await this.#execute(run)
      // An aborted run stays in the queue as running: its requests are never committed by this instance.
      if (outcome !== 'aborted') await this.#commit()
    }
  }

  /** Waits until a request arrives, `ms` pass (never, when undefined) or the trainer closes. */
  #sleep(ms: number | undefined): Promise<void> {
    const { signal } = this.#abort
    if (signal.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.#wake = undefined
        resolve()
      }
      if (ms !== undefined) timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
      this.#wake = done
    })
  }

  async #execute(run: RetrainRun): Promise<RunOutcome> {
    const { signal } = this.#abort
    const started = performance.now()
    const log = this.#logger.child({ run: ++this.#runs })
    log.info({ requests: run.requests.map((request) => request.id), count: run.count, coalesced: run.count - 1, asOf: iso(run.asOf), attempt: run.attempt }, 'training run started')
    let outcome: RunOutcome
    let loaded: LoadedTrainingData | undefined
    try {
      const window = { asOf: run.asOf, ...(run.driftFrom === undefined ? {} : { from: run.driftFrom }) }
      const result = await loadTrainingData(this.#deps.client, this.#deps.featureSet, this.#options, window)
      if ('pending' in result) {
        const finished = this.#queue.finish(run, { now: Date.now(), waitMs: this.#options.dataWaitCheckMs })
        this.#metrics.pendingRequests.set(this.#queue.pendingCount)
        log.info(
          { driftFrom: iso(window.from ?? 0), needed: iso(result.needed), reached: iso(result.reached), checkAgainInMs: this.#options.dataWaitCheckMs, pending: this.#queue.pendingCount, retried: finished.retried },
          'waiting for the labels of the drifted data: the offline store does not reach them yet',
        )
        return 'waiting'
      }
      loaded = result
      signal.throwIfAborted()
      const positives = loaded.data.y.reduce((sum, label) => sum + label, 0)
      log.info({ rows: loaded.observations.count, positives, from: iso(loaded.observations.from), to: iso(loaded.observations.to), dataEnd: iso(loaded.dataEnd), dataHash: loaded.dataHash }, 'training set built')
      const champion = await this.#champion()
      const report = await trainCandidatesOffThread(
        { data: loaded.data, options: this.#options.training, ...(champion === undefined ? {} : { champion }) },
        { signal, thread: this.#options.thread },
      )
      const { split, challenger, baseline } = report
      this.#metrics.trainingRows.set({ split: 'train' }, split.trainRows)
      this.#metrics.trainingRows.set({ split: 'holdout' }, split.holdoutRows)
      this.#metrics.trainingRows.set({ split: 'purged' }, split.purgedRows)
      this.#metrics.challengerRocAuc.set(challenger.holdout.rocAuc)
      log.info(
        {
          split,
          challengerRocAuc: challenger.holdout.rocAuc,
          baselineRocAuc: baseline.holdout.rocAuc,
          trees: challenger.registration.metrics['trees'],
          fitSeconds: challenger.fitSeconds + baseline.fitSeconds,
          champion: report.champion === undefined ? undefined : report.champion.comparable ? { version: report.champion.version, rocAuc: report.champion.holdout.rocAuc } : { version: report.champion.version, why: report.champion.why },
        },
        'models trained and scored on the holdout',
      )
      // Past this point the run is not aborted: the registry gets the whole outcome or none of it.
      const published = await publishCandidates(this.#models, report, { actor, cause: describeRun(run, loaded) })
      outcome = published.promoted ? 'promoted' : 'rejected'
      if (published.promoted) this.#metrics.championRocAuc.set(challenger.holdout.rocAuc)
      else if (report.champion?.comparable === true) this.#metrics.championRocAuc.set(report.champion.holdout.rocAuc)
      log.info(
        { outcome, challenger: published.challenger.version, baseline: published.baseline.version, champion: published.champion, reasons: published.reasons },
        published.promoted ? `${published.challenger.version} promoted to champion` : `${published.challenger.version} rejected by the gate`,
      )
    } catch (error) {
      if (signal.aborted) outcome = 'aborted'
      else if (isInsufficientData(error)) outcome = 'skipped'
      else outcome = 'failed'
      if (outcome === 'failed') log.error({ err: error, attempt: run.attempt, maxAttempts: this.#options.maxAttempts }, 'training run failed')
      else log.warn({ reason: errorMessage(error) }, outcome === 'skipped' ? 'training run skipped' : 'training run aborted')
    }
    const seconds = (performance.now() - started) / 1000
    recordRun(this.#metrics, outcome, seconds)
    if (outcome === 'aborted') return outcome
    const now = Date.now()
    // Only a final outcome covers the run's data; a failure leaves the requests for another attempt.
    const dataEnd = outcome === 'failed' ? undefined : loaded?.dataEnd
    const finished = this.#queue.finish(run, { now, ...(dataEnd === undefined ? {} : { dataEnd }), retry: outcome === 'failed' })
    this.#metrics.requestsCoalesced.inc(finished.covered)
    this.#metrics.pendingRequests.set(this.#queue.pendingCount)
    const nextIn = this.#queue.readyIn(now)
    log.info(
      { outcome, seconds, retried: finished.retried, coveredPending: finished.covered, pending: this.#queue.pendingCount, ...(nextIn === undefined ? {} : { nextRunAt: iso(now + nextIn) }) },
      'training run finished',
    )
    if (outcome === 'failed' && !finished.retried) log.error({ requests: run.requests.map((request) => request.id), attempts: run.attempt }, 'training run failed for good; its requests are committed')
    return outcome
  }

  async #champion(): Promise<ChampionArtifact | undefined> {
    const { champion } = await this.#models.aliases()
    return champion === undefined ? undefined : { version: champion, artifact: await this.#models.artifact(champion) }
  }

  /** Commits what the queue allows, one commit at a time so positions only move forward. */
  #commit(): Promise<void> {
    const topic = this.#deps.catalog.retrainRequests.name
    this.#commits = this.#commits.then(async () => {
      const positions = this.#queue.committable()
      if (positions.length === 0) return
      try {
        await this.#consumer.commitOffsets(positions.map(({ partition, offset }) => ({ topic, partition, offset })))
        this.#queue.markCommitted(positions)
        for (const { partition, offset } of positions) this.#records.committed(topic, partition, offset)
      } catch (error) {
        this.#metrics.commitErrors.inc()
        this.#logger.warn({ err: error, positions }, 'committing retrain request offsets failed; retried with the next commit')
      }
    })
    return this.#commits
  }
}

/** The `trainer` role of `churn run`: `TRAINER_*` environment variables, then `options`, over the defaults. */
export function trainerRole(featureSet: FeatureSet, options: TrainerOptionsInput = {}): RoleDefinition {
  // Parsed here too, so that bad options fail when the role is declared rather than when it starts.
  parseTrainerOptions(options)
  return {
    name: trainerRoleName,
    description: 'churn.retrain.requests -> offline training set -> GBDT challenger and logistic baseline, gated against the champion, registered and promoted (churn.model.events)',
    async start(context) {
      const fromConfig = trainerOptionsFromConfig(context.config)
      const trainer = new Trainer(
        { kafka: context.kafka, registry: context.registry, catalog: context.catalog, client: context.offline(), logger: context.logger, metrics: context.metrics, featureSet },
        { ...fromConfig, ...options, gate: { ...fromConfig.gate, ...options.gate } },
      )
      await trainer.start()
      return trainer
    },
  }
}
