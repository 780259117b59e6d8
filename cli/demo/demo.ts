import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import type { Config } from '../../core/config.js'
import { Registry } from 'prom-client'
import { createIdempotentProducer } from '../../core/kafka.js'
import { Lifecycle } from '../../core/lifecycle.js'
import { createLogger } from '../../core/logger.js'
import { createRoleContext, type RoleContext } from '../../consumers/runtime/context.js'
import { runSimulation } from '../../producers/simulation-runner.js'
import { createSimulator, dayMs, type DriftKind } from '../../producers/simulator/index.js'
import { EventPublisher } from '../../producers/publisher/index.js'
import { PublisherSink, type EventSink } from '../../producers/sinks.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { registerSchemas } from '../../schemas/registration.js'
import { applyTopics } from '../../schemas/topic-admin.js'
import { acquireModelLog } from '../../scoring/model-log.js'
import { runRoles } from '../run-command.js'
import { roleNames } from '../roles.js'
import { DemoObserver, histogramBuckets, metricSum, quantileBetween } from './observer.js'
import { renderView, type ViewState } from './view.js'

export interface DemoOptions {
  /** Wall-clock seconds of live simulation. */
  durationS: number
  /** Keep the roles running after the simulation until Ctrl-C. */
  follow: boolean
  customers: number
  /** Simulated days per wall-clock second during the live part. */
  speed: number
  /** Days of history published (fast) before the live part, for the first model. */
  historyDays: number
  drift: DriftKind
  seed: number
  /** Upper bound on events per second. */
  rate: number
  /** Redraw a full-screen view (a terminal) or print one line every few seconds. */
  interactive: boolean
  signal: AbortSignal
}

export interface DemoSummary {
  events: number
  scores: number
  deadLettered: number
  p99LatencyMs: number | undefined
  champion: string | undefined
  promotions: number
  rejections: number
  retrainRequests: number
  breachedWindows: number
  windows: number
  driftAt: number
}

const PREFIX = 'demo.'

/** The demo's settings: its own topics, keys and offline store, and short windows and cooldowns so the loop fits in minutes. */
export function demoSettings(base: Config): Config {
  return {
    ...base,
    TOPIC_PREFIX: PREFIX,
    ONLINE_KEY_PREFIX: 'demo:',
    CLICKHOUSE_PATH: join(base.STACK_DIR, 'demo', 'clickhouse'),
    TRAINER_COOLDOWN_MS: 15_000,
    TRAINER_HORIZON_DAYS: 14,
    TRAINER_SAMPLE_EVERY_DAYS: 3,
    TRAINER_LOOKBACK_DAYS: 120,
    // A drift-triggered model trains on five weeks after the drift (90 days by default) to fit in minutes.
    TRAINER_POST_DRIFT_DAYS: 35,
    TRAINER_DATA_WAIT_CHECK_MS: 5_000,
    DRIFT_WINDOW_MS: 7 * dayMs,
    DRIFT_ALLOWED_LATENESS_MS: dayMs,
    DRIFT_CONSECUTIVE_WINDOWS: 2,
    DRIFT_COOLDOWN_MS: 21 * dayMs,
    // Six roles close one after another, each finishing its batch and leaving its group.
    SHUTDOWN_TIMEOUT_MS: Math.max(base.SHUTDOWN_TIMEOUT_MS, 60_000),
  }
}

/** Removes what an earlier demo left: its topics, consumer groups, online keys and offline store. */
async function resetDemo(context: RoleContext, settings: Config): Promise<void> {
  const admin = context.kafka.admin()
  await admin.connect()
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(PREFIX))
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined)
    const topics = (await admin.listTopics()).filter((name) => name.startsWith(PREFIX))
    if (topics.length > 0) {
      await admin.deleteTopics({ topics, timeout: 30_000 })
      const deadline = Date.now() + 30_000
      while ((await admin.listTopics()).some((name) => name.startsWith(PREFIX)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250))
    }
    await applyTopics(admin, context.catalog.topics)
  } finally {
    await admin.disconnect()
  }
  await registerSchemas(context.registry, settings.SCHEMA_REGISTRY_URL, context.catalog.topics)
  const redis = await context.redis()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${settings.ONLINE_KEY_PREFIX}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

async function requestRetrain(context: RoleContext, eventTime: number): Promise<void> {
  const codec = new AvroCodec(context.registry, loadSchema('retrainRequest'), `${context.catalog.retrainRequests.name}-value`)
  await codec.schemaId()
  const producer = createIdempotentProducer(context.kafka)
  await producer.connect()
  try {
    await producer.send({
      topic: context.catalog.retrainRequests.name,
      acks: -1,
      messages: [{ key: 'churn', value: codec.encode({ request_id: `demo-${randomUUID()}`, requested_at: Date.now(), reason: 'manual', model_version: null, evidence: [], event_time: eventTime }) }],
    })
  } finally {
    await producer.disconnect()
  }
}

async function waitUntil(done: () => Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!signal.aborted && Date.now() < deadline && !(await done())) await new Promise((resolve) => setTimeout(resolve, 500))
}

/**
 * The whole loop on one machine: every role in this process, a simulated business publishing its
 * history and then live events, drift injected a third of the way into the live part, and a view
 * of what the platform does about it.
 */
export async function runDemo(base: Config, options: DemoOptions, print: (text: string) => void): Promise<{ summary: DemoSummary; stop: () => Promise<void> }> {
  const settings = demoSettings(base)
  rmSync(settings.CLICKHOUSE_PATH, { recursive: true, force: true })
  mkdirSync(join(settings.STACK_DIR, 'logs'), { recursive: true })
  const logFile = join(settings.STACK_DIR, 'logs', 'demo.log')
  print(`preparing: fresh demo topics (${PREFIX}*), keys and offline store; role logs go to ${logFile}`)
  const logger = createLogger({ level: settings.LOG_LEVEL, name: 'churn-demo', destination: pino.destination({ dest: logFile, mkdir: true, sync: false }) })
  const preparation = new Lifecycle({ logger })
  await resetDemo(createRoleContext({ config: settings, logger, metrics: new Registry(), lifecycle: preparation, instanceId: 'demo-prepare' }), settings)
  await preparation.shutdown()
  const running = await runRoles({ roles: roleNames(), settings, instanceId: 'demo', logDestination: pino.destination({ dest: logFile, mkdir: true, sync: false }), handleSignals: false })
  const { context } = running
  const observer = new DemoObserver(running.context)
  await observer.start()
  const { log, release } = acquireModelLog(running.context)
  await log.start(5_000)

  const liveDays = options.durationS * options.speed
  const end = Math.floor(Date.now() / dayMs) * dayMs
  const liveStart = end - liveDays * dayMs
  const start = liveStart - options.historyDays * dayMs
  const driftAt = Math.round(liveStart + (liveDays / 3) * dayMs)
  const simulator = createSimulator({ seed: options.seed, customers: options.customers, start, drift: { at: driftAt, kind: options.drift } })
  const publisher = new PublisherSink(new EventPublisher({ kafka: context.kafka, registry: context.registry, topic: context.catalog.customerEvents, logger: context.logger }))
  const sink: EventSink = {
    write: async (events) => {
      await publisher.write(events)
      state.published += events.length
      state.simTime = simulator.clock
    },
    close: () => publisher.close(),
  }
  const state: ViewState = { phase: 'history', published: 0, simTime: start, driftAt, startedAt: Date.now(), champion: undefined, samples: [], lags: new Map(), p99Ms: undefined }
  let previousBuckets = await histogramBuckets(running.metrics, 'churn_event_to_score_latency_seconds')
  const firstBuckets = previousBuckets
  let previousSample = { at: performance.now(), applied: 0, scored: 0 }
  let ticks = 0
  const refresh = async (): Promise<void> => {
    ticks += 1
    const now = performance.now()
    const applied = await metricSum(running.metrics, 'churn_ingest_events_total', { outcome: 'applied' })
    const scored = await metricSum(running.metrics, 'churn_scorer_records_total', { outcome: 'scored' })
    const seconds = Math.max(0.001, (now - previousSample.at) / 1000)
    state.samples.push({ eventsPerSecond: (applied - previousSample.applied) / seconds, scoresPerSecond: (scored - previousSample.scored) / seconds })
    if (state.samples.length > 60) state.samples.shift()
    previousSample = { at: now, applied, scored }
    if (ticks % 5 === 0) {
      const buckets = await histogramBuckets(running.metrics, 'churn_event_to_score_latency_seconds')
      const p99 = quantileBetween(previousBuckets, buckets, 0.99)
      state.p99Ms = p99 === undefined ? state.p99Ms : p99 * 1000
      previousBuckets = buckets
      state.lags = await observer.lag().catch(() => state.lags)
    }
    state.champion = log.state?.champion
    print(renderView(state, observer, options.interactive))
  }
  let refreshing = Promise.resolve()
  const timer = setInterval(() => {
    refreshing = refreshing.then(refresh).catch(() => undefined)
  }, options.interactive ? 1_000 : 5_000)
  try {
    await sink.write(simulator.advanceTo(start))
    await runSimulation(simulator, sink, start, liveStart, { durationMs: Number.POSITIVE_INFINITY, daysPerSecond: 0, maxEventsPerSecond: options.rate * 4, signal: options.signal })
    // The first model needs the history in the offline store, and the live part is best watched with it serving.
    state.phase = 'catching up'
    await waitUntil(async () => {
      const lags = await observer.lag()
      return (lags.get('churn-offline-sink') ?? 1) < 1_000 && (lags.get('churn-ingest') ?? 1) < 1_000
    }, 180_000, options.signal)
    await requestRetrain(running.context, liveStart)
    state.phase = 'training'
    await waitUntil(() => Promise.resolve(observer.counts.promotions + observer.counts.rejections > 0), 180_000, options.signal)
    state.phase = 'live'
    await runSimulation(simulator, sink, liveStart, end, { durationMs: options.durationS * 1000, daysPerSecond: options.speed, maxEventsPerSecond: options.rate, signal: options.signal })
    if (options.follow && !options.signal.aborted) {
      state.phase = 'following'
      await new Promise<void>((resolve) => { options.signal.addEventListener('abort', () => { resolve() }, { once: true }); })
    }
  } finally {
    clearInterval(timer)
    await refreshing
    await sink.close()
  }
  const lastBuckets = await histogramBuckets(running.metrics, 'churn_event_to_score_latency_seconds')
  const p99 = quantileBetween(firstBuckets, lastBuckets, 0.99)
  const summary: DemoSummary = {
    events: state.published,
    scores: await metricSum(running.metrics, 'churn_scorer_records_total', { outcome: 'scored' }),
    deadLettered: (await metricSum(running.metrics, 'churn_ingest_events_total', { outcome: 'dead_lettered' })) + (await metricSum(running.metrics, 'churn_scorer_records_total', { outcome: 'dead_lettered' })),
    p99LatencyMs: p99 === undefined ? undefined : p99 * 1000,
    champion: log.state?.champion,
    promotions: observer.counts.promotions,
    rejections: observer.counts.rejections,
    retrainRequests: observer.counts.retrainRequests,
    breachedWindows: observer.counts.breachedWindows,
    windows: observer.windows.length,
    driftAt,
  }
  const stop = async (): Promise<void> => {
    await release()
    await observer.close()
    await running.lifecycle.shutdown()
  }
  return { summary, stop }
}
