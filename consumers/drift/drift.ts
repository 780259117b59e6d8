import { randomUUID } from 'node:crypto'
import type { Batch, Message, TopicMessages } from 'kafkajs'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import { TransactionalPipeline } from '../../core/kafka.js'
import type { Logger } from '../../core/logger.js'
import { DriftMonitor } from '../../drift/monitor.js'
import type { AddOutcome } from '../../drift/windows.js'
import type { LabelOutcome } from '../../drift/labels.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import type { RoleContext, RoleDefinition, RunningRole } from '../runtime/context.js'
import { ChampionReference } from './champion.js'
import { IdleInputs } from './idle-inputs.js'
import { driftMetrics, recordEffects, type BatchEffects, type DriftMetrics } from './metrics.js'
import { driftOptionsFromConfig, parseDriftRoleOptions, type DriftRoleOptions, type DriftRoleOptionsInput } from './options.js'
import { DriftDecoders, type DriftInputRecord } from './records.js'
import { readLatestState, stateMessage } from './state-store.js'
import type { DriftRoleState, RecordOutcome } from './types.js'

export const driftRoleName = 'drift'

function recordOutcome(outcome: AddOutcome | LabelOutcome): RecordOutcome {
  switch (outcome) {
    case 'accepted':
      return 'applied'
    case 'late':
      return 'late'
    case 'skipped':
      return 'skipped'
    case 'invalid':
      // Decoding already refused what the monitor would call invalid (times, probabilities); kept for completeness.
      return 'skipped'
  }
}

/**
 * The `drift` role: `customer.features`, `churn.scores` and the cancellations of `customer.events` through a
 * `DriftMonitor` (event-time windows, a watermark over every input partition, delayed labels, the retrain policy), with
 * each window's report on `churn.drift.reports` and retrain requests on `churn.retrain.requests`.
 *
 * Exactly once for read_committed readers, across crashes: every batch is one transaction holding its reports and
 * requests, its dead letters, the monitor's snapshot (on the compacted `churn.drift.state`, keyed by the group id) and
 * the batch's consumed offsets. A (re)started role reads the newest committed snapshot before it consumes, and resumes
 * from the offsets committed with it: no record is counted twice or lost. A batch whose transaction did not commit
 * leaves the monitor where the last commit left it (restored from that snapshot) before the batch is consumed again.
 *
 * Drift is one aggregate over every partition, so one instance owns all of them: run one drift process per group.
 * The transactional id derives from the group, so a restarted process fences its predecessor whatever its instance id.
 */
export class DriftRole implements RunningRole {
  readonly name = driftRoleName
  readonly #context: RoleContext
  readonly #options: DriftRoleOptions
  readonly #logger: Logger
  readonly #metrics: DriftMetrics
  readonly #decoders: DriftDecoders
  readonly #reports: AvroCodec
  readonly #requests: AvroCodec
  readonly #champion: ChampionReference
  readonly #transactionalId: string
  #pipeline: TransactionalPipeline | undefined
  #monitor: DriftMonitor
  #inputs: string[] = []
  #idle: IdleInputs | undefined
  /** The snapshot committed with the offsets consumed so far. */
  #committed: string
  /** Set while a batch's changes are not committed: the next batch starts from `#committed`. */
  #uncommitted = false
  #effects: BatchEffects | undefined
  #pendingText: string | undefined
  #state: DriftRoleState = 'idle'
  #closing: Promise<void> | undefined

  constructor(context: RoleContext, options: DriftRoleOptionsInput = {}) {
    this.#context = context
    this.#options = parseDriftRoleOptions(options, context.catalog.prefix)
    this.#logger = context.logger.child({ role: driftRoleName })
    this.#metrics = driftMetrics(context.metrics)
    this.#decoders = new DriftDecoders(context.registry, context.catalog)
    this.#reports = new AvroCodec(context.registry, loadSchema('driftReport'), `${context.catalog.driftReports.name}-value`)
    this.#requests = new AvroCodec(context.registry, loadSchema('retrainRequest'), `${context.catalog.retrainRequests.name}-value`)
    this.#champion = new ChampionReference(context, this.#logger, this.#options.drift)
    this.#transactionalId = `${this.#options.groupId}-transactions`
    this.#monitor = new DriftMonitor(this.#options.drift)
    this.#committed = JSON.stringify(this.#monitor.snapshot())
  }

  get state(): DriftRoleState {
    return this.#state
  }

  get groupId(): string {
    return this.#options.groupId
  }

  /**
   * Reads the model log (the champion's reference) and the newest committed snapshot, assigns every input partition to
   * the watermark, then starts consuming.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new ChurnError(ErrorCodes.CLOSED, `drift role is ${this.#state}`)
    this.#state = 'starting'
    const { catalog, kafka } = this.#context
    try {
      await Promise.all([this.#reports.schemaId(), this.#requests.schemaId()])
      await this.#champion.start(this.#options.modelCatchUpMs)
      const stored = await readLatestState({
        kafka,
        logger: this.#logger,
        topic: catalog.driftState.name,
        key: this.#options.groupId,
        transactionalId: this.#transactionalId,
        readerGroupId: `${this.#options.groupId}.state-reader.${randomUUID().slice(0, 8)}`,
        timeoutMs: this.#options.stateCatchUpMs,
      })
      if (stored !== undefined) this.#monitor = DriftMonitor.restore(JSON.parse(stored.text) as unknown, this.#options.drift)
      this.#inputs = await this.#partitions()
      this.#monitor.assignInputs(this.#inputs)
      this.#committed = JSON.stringify(this.#monitor.snapshot())
      this.#idle = new IdleInputs(this.#options.idlePartitionMs, Date.now())
      this.#pipeline = new TransactionalPipeline({
        kafka,
        logger: this.#logger,
        groupId: this.#options.groupId,
        transactionalId: this.#transactionalId,
        topics: this.#decoders.topics,
        maxBytesPerPartition: this.#options.maxBytesPerPartition,
        metrics: { registry: this.#context.metrics, role: driftRoleName },
        sessionTimeout: this.#options.sessionTimeoutMs,
        transform: (batch) => this.#transform(batch),
        onCommitted: () => { this.#onCommitted() },
        onAborted: ({ topic, partition, error }) => {
          this.#logger.warn({ err: error, topic, partition }, 'drift batch aborted; it is consumed again from the last committed state')
        },
      })
      this.#logger.info({ groupId: this.#options.groupId, inputs: this.#inputs.length, restored: stored !== undefined, watermark: this.#monitor.watermark, champion: this.#champion.reference?.modelVersion }, 'drift role starting')
      await this.#pipeline.start()
      this.#state = 'running'
    } catch (error) {
      await this.close().catch((closeError: unknown) => { this.#logger.warn({ err: closeError }, 'cleaning up a failed start failed') })
      throw error
    }
  }

  /** Every partition of the three inputs, as watermark inputs `<topic>:<partition>`. */
  async #partitions(): Promise<string[]> {
    const admin = this.#context.kafka.admin()
    await admin.connect()
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: this.#decoders.topics })
      return topics.flatMap((topic) => topic.partitions.map((partition) => `${topic.name}:${partition.partitionId}`)).sort()
    } finally {
      await admin.disconnect()
    }
  }

  async #transform(batch: Batch): Promise<TopicMessages[]> {
    const timer = this.#metrics.batchSeconds.startTimer()
    try {
      // Decoding may wait for the registry; the monitor changes only after it, synchronously.
      const decoded = await this.#decoders.decode(batch)
      return this.#apply(batch, decoded.records, decoded.deadLetters)
    } finally {
      timer()
    }
  }

  #apply(batch: Batch, records: readonly DriftInputRecord[], deadLetters: Message[]): TopicMessages[] {
    const { catalog } = this.#context
    if (this.#uncommitted) {
      this.#monitor = DriftMonitor.restore(JSON.parse(this.#committed) as unknown, this.#options.drift)
      this.#logger.info('drift state restored to the last commit')
    }
    this.#uncommitted = true
    const monitor = this.#monitor
    const now = Date.now()
    const champion = this.#champion.reference
    if (champion !== undefined && champion.modelVersion !== monitor.reference?.modelVersion) {
      monitor.setReference(champion)
      this.#logger.info({ modelVersion: champion.modelVersion }, 'new windows are compared with the new champion')
    }
    const input = `${batch.topic}:${batch.partition}`
    for (const idle of this.#idle?.batch(input, now, this.#inputs) ?? []) monitor.markIdle(idle)

    const outcomes = new Map<RecordOutcome, number>()
    const count = (outcome: RecordOutcome, n = 1): void => { if (n > 0) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + n) }
    count('dead_lettered', deadLetters.length)
    for (const record of records) {
      switch (record.kind) {
        case 'features':
          count(recordOutcome(monitor.addFeatures(input, record.vector)))
          break
        case 'score':
          if (record.fromModel) {
            count(recordOutcome(monitor.addScore(input, record.score)))
          } else {
            monitor.observe(input, record.score.eventTime)
            count('skipped')
          }
          break
        case 'cancellation':
          count(recordOutcome(monitor.addCancellation(input, record.cancellation)))
          break
        case 'event':
          monitor.observe(input, record.eventTime)
          count('observed')
          break
      }
    }

    const output = monitor.poll(now)
    const text = JSON.stringify(monitor.snapshot())
    const counters = monitor.counters
    this.#pendingText = text
    this.#effects = {
      records: new Map([[batch.topic, outcomes]]),
      windowsClosed: output.windowsClosed,
      reports: output.reports,
      requests: output.requests,
      champion: monitor.reference?.modelVersion,
      suppressedRequests: counters.suppressedRequests,
      watermark: monitor.watermark,
      openWindows: counters.openWindows,
      snapshotBytes: Buffer.byteLength(text),
    }
    const deadLetterTopic = [catalog.customerFeatures, catalog.scores, catalog.customerEvents].find((topic) => topic.name === batch.topic)
    return [
      { topic: catalog.driftReports.name, messages: output.reports.map((report) => ({ key: report.model_version ?? '', value: this.#reports.encode(report) })) },
      { topic: catalog.retrainRequests.name, messages: output.requests.map((request) => ({ key: this.#options.modelName, value: this.#requests.encode(request) })) },
      ...(deadLetterTopic === undefined ? [] : [{ topic: catalog.deadLetter(deadLetterTopic).name, messages: deadLetters }]),
      { topic: catalog.driftState.name, messages: [stateMessage(this.#options.groupId, text)] },
    ]
  }

  #onCommitted(): void {
    if (this.#pendingText !== undefined) this.#committed = this.#pendingText
    this.#pendingText = undefined
    this.#uncommitted = false
    const effects = this.#effects
    this.#effects = undefined
    if (effects === undefined) return
    recordEffects(this.#metrics, effects)
    for (const report of effects.reports) {
      const fields = { reportId: report.report_id, records: report.records, lateRecords: report.late_records, breaches: report.breaches }
      this.#logger.info(fields, report.breached ? 'drift report: thresholds breached' : 'drift report')
    }
    for (const request of effects.requests) {
      this.#logger.warn({ requestId: request.request_id, reason: request.reason, evidence: request.evidence.length }, 'retrain requested')
    }
  }

  /** Stops consuming after the in-flight batch commits, then stops following the model log. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'stopping'
      const errors: unknown[] = []
      for (const step of [() => this.#pipeline?.close(), () => this.#champion.close()]) {
        try {
          await step()
        } catch (error) {
          errors.push(error)
        }
      }
      this.#state = 'stopped'
      if (errors.length > 0) throw new ChurnError(ErrorCodes.CLOSED, `closing the drift role: ${errors.map(errorMessage).join('; ')}`)
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/** Starts the drift role (see `DriftRole`). */
export async function startDrift(context: RoleContext, options: DriftRoleOptionsInput = {}): Promise<DriftRole> {
  const role = new DriftRole(context, options)
  await role.start()
  return role
}

/** `churn run --roles drift`, with the `DRIFT_*` settings over `options`. */
export function driftRole(options: DriftRoleOptionsInput = {}): RoleDefinition {
  // Parsed here too, so that bad options fail when the role is declared rather than when it starts.
  parseDriftRoleOptions(options)
  return {
    name: driftRoleName,
    description: 'customer.features, churn.scores, cancellations -> churn.drift.reports per event-time window, churn.retrain.requests (exactly once; one instance)',
    start: (context) => {
      const fromConfig = driftOptionsFromConfig(context.config)
      return startDrift(context, { ...fromConfig, ...options, drift: { ...fromConfig.drift, ...options.drift } })
    },
  }
}
