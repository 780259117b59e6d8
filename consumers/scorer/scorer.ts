import type { Batch, Message, TopicMessages } from 'kafkajs'
import { Counter, Histogram } from 'prom-client'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { TransactionalPipeline } from '../../core/kafka.js'
import { metricsOnce } from '../../core/metrics.js'
import type { FeatureSet } from '../../feature-store/feature-set.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec, decodeFailures } from '../../schemas/codec.js'
import { describeIssues } from '../../schemas/events.js'
import type { ScoringEngine, ScoredVector, VectorInput } from '../../scoring/engine.js'
import type { ModelSet } from '../../scoring/model-manager.js'
import { parseRiskThresholds, type RiskBand } from '../../scoring/risk.js'
import { startModelServing } from '../../scoring/serving.js'
import type { Config } from '../../core/config.js'
import { featureVectorSchema } from '../offline-sink/feature-snapshots.js'
import type { RoleContext, RunningRole } from '../runtime/context.js'
import { scorerOptionsSchema, type ScorerOptions, type ScorerOptionsInput } from './options.js'

export interface ScorerMetrics {
  records: Counter<'outcome'>
  batchSize: Histogram
  batchSeconds: Histogram
  eventToScore: Histogram
  featureAge: Histogram
  scores: Counter<'model_role' | 'risk'>
}

const scorerMetrics = metricsOnce((registers): ScorerMetrics => ({
    records: new Counter({ name: 'churn_scorer_records_total', help: 'customer.features records by outcome: scored, suppressed (moved less than epsilon), dead_lettered.', labelNames: ['outcome'], registers }),
    batchSize: new Histogram({ name: 'churn_scorer_batch_size', help: 'Feature vectors per scored batch.', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000], registers }),
    batchSeconds: new Histogram({ name: 'churn_scorer_batch_duration_seconds', help: 'Time to score one batch (decode, inference, explanations, encoding).', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers }),
    eventToScore: new Histogram({
      name: 'churn_event_to_score_latency_seconds',
      help: 'Wall-clock time from the newest customer event reaching Kafka (its record timestamp, carried by ingest onto the feature record) to its score being emitted.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    featureAge: new Histogram({ name: 'churn_scorer_feature_age_seconds', help: 'Age of the features behind a score at scoring time.', buckets: [1, 60, 3600, 86_400, 7 * 86_400, 30 * 86_400], registers }),
    scores: new Counter({
      name: 'churn_scores_total',
      help: 'Scores committed to churn.scores (model_role champion, whichever fallback level produced them) and churn.scores.shadow (model_role shadow), by risk band.',
      labelNames: ['model_role', 'risk'],
      registers,
    }),
}))

/** Scores of one batch by model role and risk band, counted once the batch's transaction commits. */
export type ScoreTally = Map<`${'champion' | 'shadow'}|${RiskBand}`, number>

interface Dependencies {
  vectors: AvroCodec
  scores: AvroCodec
  shadowScores: AvroCodec
  engine: ScoringEngine
  catalog: RoleContext['catalog']
  options: ScorerOptions
  metrics?: ScorerMetrics
  /** Last probability and band emitted per customer, for epsilon suppression. */
  last: Map<string, { probability: number; band: RiskBand }>
}

function scoreMessage(codec: AvroCodec, score: ScoredVector, sourceEventTime: number, scoredAt: number): Message {
  return {
    key: score.customerId,
    value: codec.encode({
      customer_id: score.customerId,
      probability: score.probability,
      risk_band: score.riskBand,
      model_version: score.modelVersion,
      feature_set_version: score.featureSetVersion,
      feature_age_ms: Math.max(0, scoredAt - sourceEventTime),
      top_reasons: score.reasons,
      fallback_level: score.fallbackLevel,
      source_event_time: sourceEventTime,
      scored_at: scoredAt,
    }),
  }
}

/**
 * Turns one batch of `customer.features` into scores, shadow scores and dead letters, with one model set; adds
 * what it emits to `tally`.
 */
export async function scoreBatch(batch: Batch, models: ModelSet, deps: Dependencies, tally?: ScoreTally): Promise<TopicMessages[]> {
  const { vectors, scores, shadowScores, engine, catalog, options, metrics, last } = deps
  const inputs: VectorInput[] = []
  const eventTimes: number[] = []
  const publishedAt: number[] = []
  const deadLetters: Message[] = []
  const dead = (message: Batch['messages'][number], reason: string, error: string): void => {
    deadLetters.push(deadLetterMessage(message, { topic: batch.topic, partition: batch.partition, reason, error, stage: 'scorer' }))
  }
  for (const message of batch.messages) {
    const outcome = await vectors.decode(message.value)
    if (!outcome.ok) {
      dead(message, outcome.reason, outcome.message)
      continue
    }
    const parsed = featureVectorSchema.safeParse(outcome.value)
    if (!parsed.success) {
      dead(message, decodeFailures.INVALID_CONTENT, describeIssues(parsed.error))
      continue
    }
    const vector = parsed.data
    if (vector.feature_set_version === engine.featureSetVersion && vector.values.length !== engine.featureCount) {
      dead(message, decodeFailures.INVALID_CONTENT, `feature set ${vector.feature_set_version} has ${engine.featureCount} features, the record has ${vector.values.length} values`)
      continue
    }
    inputs.push({ customerId: vector.customer_id, featureSetVersion: vector.feature_set_version, values: vector.values })
    eventTimes.push(vector.newest_event_time)
    publishedAt.push(Number(message.timestamp))
  }
  metrics?.records.inc({ outcome: 'dead_lettered' }, deadLetters.length)
  metrics?.batchSize.observe(inputs.length)
  await Promise.all([scores.schemaId(), shadowScores.schemaId()])
  const scored = await engine.score(models, inputs)
  const shadow = await engine.shadow(models, inputs)
  const scoredAt = Date.now()
  const out: Message[] = []
  scored.forEach((score, i) => {
    const eventTime = eventTimes[i] ?? scoredAt
    const previous = last.get(score.customerId)
    if (options.epsilon > 0 && previous?.band === score.riskBand && Math.abs(previous.probability - score.probability) < options.epsilon) {
      metrics?.records.inc({ outcome: 'suppressed' })
      return
    }
    if (options.epsilon > 0) last.set(score.customerId, { probability: score.probability, band: score.riskBand })
    metrics?.records.inc({ outcome: 'scored' })
    metrics?.eventToScore.observe(Math.max(0, scoredAt - (publishedAt[i] ?? scoredAt)) / 1000)
    metrics?.featureAge.observe(Math.max(0, scoredAt - eventTime) / 1000)
    out.push(scoreMessage(scores, score, eventTime, scoredAt))
    tally?.set(`champion|${score.riskBand}`, (tally.get(`champion|${score.riskBand}`) ?? 0) + 1)
  })
  const shadowMessages = shadow.flatMap((score, i) => {
    if (score === undefined) return []
    tally?.set(`shadow|${score.riskBand}`, (tally.get(`shadow|${score.riskBand}`) ?? 0) + 1)
    return [scoreMessage(shadowScores, score, eventTimes[i] ?? scoredAt, scoredAt)]
  })
  return [
    { topic: catalog.scores.name, messages: out },
    { topic: catalog.shadowScores.name, messages: shadowMessages },
    { topic: catalog.deadLetter(catalog.customerFeatures).name, messages: deadLetters },
  ]
}

/** The scorer's options from the environment (SCORER_*); unset ones take the defaults. */
export function scorerOptionsFromConfig(config: Config): ScorerOptionsInput {
  return {
    groupId: `${config.TOPIC_PREFIX}churn-scorer`,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    ...(config.SCORER_EPSILON === undefined ? {} : { epsilon: config.SCORER_EPSILON }),
    ...(config.SCORER_RISK_THRESHOLDS === undefined ? {} : { thresholds: parseRiskThresholds(config.SCORER_RISK_THRESHOLDS) }),
    ...(config.SCORER_BASE_RATE === undefined ? {} : { defaultBaseRate: config.SCORER_BASE_RATE }),
    ...(config.SCORER_RULES === undefined ? {} : { rules: config.SCORER_RULES }),
    ...(config.SCORER_TOP_REASONS === undefined ? {} : { topReasons: config.SCORER_TOP_REASONS }),
  }
}

/**
 * The `scorer` role: customer.features -> churn.scores (+ churn.scores.shadow), exactly once for
 * read_committed readers, with the models the registry names, swapped between batches.
 */
export async function startScorer(context: RoleContext, featureSet: FeatureSet, input: ScorerOptionsInput = {}): Promise<RunningRole> {
  const options = scorerOptionsSchema.parse(input)
  const logger = context.logger.child({ role: 'scorer' })
  const metrics = scorerMetrics(context.metrics)
  const serving = await startModelServing(context, featureSet, { logger, thresholds: options.thresholds, topReasons: options.topReasons, defaultBaseRate: options.defaultBaseRate, rules: options.rules, modelCatchUpMs: options.modelCatchUpMs })
  const { engine, manager } = serving
  const deps: Dependencies = {
    vectors: new AvroCodec(context.registry, loadSchema('featureVector'), `${context.catalog.customerFeatures.name}-value`),
    scores: new AvroCodec(context.registry, loadSchema('churnScore'), `${context.catalog.scores.name}-value`),
    shadowScores: new AvroCodec(context.registry, loadSchema('churnScore'), `${context.catalog.shadowScores.name}-value`),
    engine,
    catalog: context.catalog,
    options,
    metrics,
    last: new Map(),
  }
  let tally: ScoreTally = new Map()
  const pipeline = new TransactionalPipeline({
    kafka: context.kafka,
    logger,
    groupId: options.groupId,
    transactionalId: `churn-scorer-${context.instanceId}`,
    topics: [context.catalog.customerFeatures.name],
    maxBytesPerPartition: options.maxBytesPerPartition,
    sessionTimeout: options.sessionTimeoutMs,
    metrics: { registry: context.metrics, role: 'scorer' },
    transform: async (batch) => {
      const timer = metrics.batchSeconds.startTimer()
      const { models, release } = manager.acquire()
      // One batch at a time (one transactional producer): the tally is this batch's until it commits or aborts.
      tally = new Map()
      try {
        return await scoreBatch(batch, models, deps, tally)
      } finally {
        await release()
        timer()
      }
    },
    onCommitted: () => {
      for (const [key, count] of tally) {
        const [modelRole = '', risk = ''] = key.split('|')
        metrics.scores.inc({ model_role: modelRole, risk }, count)
      }
      tally.clear()
    },
    onAborted: () => { tally.clear() },
  })
  await pipeline.start()
  return {
    name: 'scorer',
    close: async () => {
      await pipeline.close()
      await serving.close()
    },
  }
}
