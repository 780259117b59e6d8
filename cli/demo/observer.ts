import type { Admin, Consumer } from 'kafkajs'
import type { Registry } from 'prom-client'
import { consumerGroupsLag } from '../../core/consumer-lag.js'
import type { RoleContext } from '../../consumers/runtime/context.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'

/** One line of what happened, in order: promotions, rejections, retrain requests, drift verdicts. */
export interface Happening {
  at: number
  text: string
}

export interface WindowVerdict {
  windowStart: number
  windowEnd: number
  breached: boolean
  topFeature: string | undefined
  topPsi: number
  scoreJs: number | null
}

interface DriftReportRecord {
  window_start: number
  window_end: number
  kind: string
  breached: boolean
  breaches: string[]
  realised_auc: number | null
  score_js: number | null
  features: { feature: string; psi: number; drifted: boolean }[]
}

interface ModelEventRecord {
  version: string
  transition: string
  reason: string
  model_type: string
  metrics: Record<string, number>
}

interface RetrainRequestRecord {
  reason: string
  model_version: string | null
  evidence: { statistic: string; feature: string | null; value: number }[]
}

/** Sums a counter's or gauge's series, optionally only those whose labels match. */
export async function metricSum(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return 0
  const { values } = await metric.get()
  return values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((sum, v) => sum + v.value, 0)
}

/** Cumulative bucket counts of a histogram, summed over its label sets: le -> count. */
export async function histogramBuckets(registry: Registry, name: string): Promise<Map<number, number>> {
  const buckets = new Map<number, number>()
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return buckets
  for (const value of (await metric.get()).values) {
    if ((value as { metricName?: string }).metricName !== `${name}_bucket`) continue
    const le = value.labels['le']
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le)
    buckets.set(bound, (buckets.get(bound) ?? 0) + value.value)
  }
  return buckets
}

/** The q-quantile's bucket bound of the observations between two cumulative snapshots (what histogram_quantile reads). */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b)
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0)
  if (total <= 0) return undefined
  for (const bound of bounds) {
    if ((after.get(bound) ?? 0) - (before.get(bound) ?? 0) >= q * total) return bound
  }
  return undefined
}

/**
 * Watches what the demo's roles publish (drift reports, retrain requests, model events) the way any
 * subscriber would, and measures consumer lag of the demo's groups.
 */
export class DemoObserver {
  readonly happenings: Happening[] = []
  readonly windows: WindowVerdict[] = []
  readonly counts = { promotions: 0, rejections: 0, retrainRequests: 0, breachedWindows: 0, registered: 0 }
  lastRealisedAuc: number | null = null
  readonly #context: RoleContext
  readonly #consumer: Consumer
  readonly #admin: Admin
  readonly #codecs: Map<string, AvroCodec>

  constructor(context: RoleContext) {
    this.#context = context
    const { catalog, registry } = context
    this.#consumer = context.kafka.consumer({ groupId: `${catalog.prefix}churn-demo-view-${context.instanceId}`, maxBytesPerPartition: 64 * 1024 * 1024 })
    this.#admin = context.kafka.admin()
    this.#codecs = new Map([
      [catalog.driftReports.name, new AvroCodec(registry, loadSchema('driftReport'), `${catalog.driftReports.name}-value`)],
      [catalog.modelEvents.name, new AvroCodec(registry, loadSchema('modelEvent'), `${catalog.modelEvents.name}-value`)],
      [catalog.retrainRequests.name, new AvroCodec(registry, loadSchema('retrainRequest'), `${catalog.retrainRequests.name}-value`)],
    ])
  }

  async start(): Promise<void> {
    await this.#admin.connect()
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topics: [...this.#codecs.keys()], fromBeginning: true })
    await this.#consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => {
        const outcome = await this.#codecs.get(topic)?.decode(message.value)
        if (outcome?.ok !== true) return
        this.#take(topic, outcome.value, Number(message.timestamp))
      },
    })
  }

  #note(at: number, text: string): void {
    this.happenings.push({ at, text })
  }

  #take(topic: string, value: unknown, at: number): void {
    const { catalog } = this.#context
    const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
    if (topic === catalog.modelEvents.name) {
      const event = value as ModelEventRecord
      if (event.transition === 'registered') this.counts.registered += 1
      if (event.transition === 'promoted') {
        this.counts.promotions += 1
        this.#note(at, `promoted ${event.version} (${event.model_type}): ${event.reason}`)
      } else if (event.transition === 'rejected') {
        this.counts.rejections += 1
        this.#note(at, `rejected ${event.version}: ${event.reason}`)
      }
    } else if (topic === catalog.retrainRequests.name) {
      const request = value as RetrainRequestRecord
      this.counts.retrainRequests += 1
      const evidence = request.evidence.slice(0, 3).map((e) => `${e.statistic}${e.feature === null ? '' : ` ${e.feature}`} ${e.value.toFixed(3)}`).join(', ')
      this.#note(at, `retrain requested (${request.reason}) for ${request.model_version ?? 'no model'}${evidence === '' ? '' : `: ${evidence}`}`)
    } else {
      const report = value as DriftReportRecord
      if (report.kind === 'performance') {
        this.lastRealisedAuc = report.realised_auc
        return
      }
      const top = [...report.features].sort((a, b) => b.psi - a.psi)[0]
      this.windows.push({ windowStart: report.window_start, windowEnd: report.window_end, breached: report.breached, topFeature: top?.feature, topPsi: top?.psi ?? 0, scoreJs: report.score_js })
      if (report.breached) {
        this.counts.breachedWindows += 1
        this.#note(at, `drift in window ${day(report.window_start)}..${day(report.window_end)}: ${report.breaches.slice(0, 3).join(', ')}`)
      }
    }
  }

  /** Records behind the newest offset, per consumer group of the demo. */
  async lag(): Promise<Map<string, number>> {
    const { catalog } = this.#context
    const roleGroups = new Set(['churn-ingest', 'churn-offline-sink', 'churn-scorer', 'churn-drift', 'churn-trainer'].map((name) => `${catalog.prefix}${name}`))
    const groups = (await this.#admin.listGroups()).groups.map((g) => g.groupId).filter((id) => roleGroups.has(id))
    const lags = new Map<string, number>()
    for (const [group, partitions] of await consumerGroupsLag(this.#admin, groups)) {
      lags.set(group.slice(catalog.prefix.length), partitions.reduce((sum, { lag }) => sum + lag, 0))
    }
    return lags
  }

  async close(): Promise<void> {
    await this.#consumer.disconnect()
    await this.#admin.disconnect()
  }
}
