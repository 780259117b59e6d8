import { randomUUID } from 'node:crypto'
import type { Message } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { createIdempotentProducer } from '../../core/kafka.js'
import { startDrift, type DriftRoleOptionsInput } from '../../consumers/drift/index.js'
import type { DriftReportRecord, RetrainRequestRecord } from '../../drift/index.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../../schemas/events.js'
import { consumeUntil, testCatalog, testKafka, testRoleContext, type ConsumedRecord } from '../support/factories.js'
import { publishingModelRegistry, random, trainedArtifacts } from '../support/models.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2024, 0, 1)
const names = ['tenure', 'charges', 'usage', 'tickets']
const featureSetVersion = 'fs-drift-test'
/** Feature vectors and scores per window and topic; cancellations and other events, half that. */
const PER_WINDOW = 200

const kafka = testKafka()
const catalog = await testCatalog(kafka, 2)
const context = testRoleContext(catalog)
const models = await publishingModelRegistry(kafka, context, 'drift')
const producer = createIdempotentProducer(kafka)
await producer.connect()
afterAll(async () => {
  await producer.disconnect()
})

const vectors = new AvroCodec(context.registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`)
const scores = new AvroCodec(context.registry, loadSchema('churnScore'), `${catalog.scores.name}-value`)
const events = new CustomerEventCodec(context.registry, catalog.customerEvents)
const reportCodec = new AvroCodec(context.registry, loadSchema('driftReport'), `${catalog.driftReports.name}-value`)
const requestCodec = new AvroCodec(context.registry, loadSchema('retrainRequest'), `${catalog.retrainRequests.name}-value`)
await Promise.all([vectors.schemaId(), scores.schemaId(), events.schemaId()])

const artifacts = trainedArtifacts(names, featureSetVersion, { seed: 5, rows: 2_000, trees: 5 })
const registered = await models.register({
  artifact: artifacts.gbdt, modelType: 'gbdt', featureSetVersion, metrics: { roc_auc: 0.8 }, params: {}, trainingWindow: { from: 0, to: 1 }, dataHash: 'h', codeVersion: 'test', actor: 'test',
})
await models.promote(registered.version, 'test', 'the champion drift compares with')
const champion = registered.version

const options: DriftRoleOptionsInput = {
  groupId: `${catalog.prefix}drift`,
  sessionTimeoutMs: 6_000,
  modelCatchUpMs: 15_000,
  drift: {
    windowMs: HOUR,
    allowedLatenessMs: MINUTE,
    labelHorizonMs: HOUR,
    minRecords: 100,
    minScores: 100,
    consecutiveWindows: 2,
    cooldownMs: 3 * HOUR,
    // Margins for 200-record windows: stationary windows stay well below, shifted ones far above.
    thresholds: { psi: 0.25, ks: 0.2, scoreJs: 0.2 },
  },
}

/** A feature value as the training rows have them (multiples of 0.1 in [0, 10], float32), about 5 % missing. */
function value(next: () => number): number {
  return next() < 0.05 ? Number.NaN : Math.fround(Math.round(next() * 100) / 10)
}

interface WindowPlan {
  /** Window k spans [T0 + k h, T0 + (k + 1) h). */
  k: number
  /** Tenure and charges squeezed into [7, 10] and scores pushed up: a drifted window. */
  shifted: boolean
  /** Records per topic and partition pair; events get half. */
  count: number
  /** First minute of the window the records start at (they are spread over the rest of it, in time order). */
  fromMinute?: number
}

/** The records of one window, in event-time order, on explicit partitions (so every input partition gets its share). */
function windowRecords(plan: WindowPlan): { features: Message[]; scores: Message[]; events: Message[] } {
  const next = random(1_000 + plan.k * 7 + (plan.fromMinute ?? 0))
  const start = T0 + plan.k * HOUR + (plan.fromMinute ?? 0) * MINUTE
  const step = Math.floor((HOUR - (plan.fromMinute ?? 0) * MINUTE - 15 * MINUTE) / plan.count)
  const out = { features: [] as Message[], scores: [] as Message[], events: [] as Message[] }
  for (let i = 0; i < plan.count; i++) {
    const at = start + i * step
    const customer = `c${plan.k}-${plan.fromMinute ?? 0}-${i}`
    const partition = i % 2
    const values = names.map((_, f) => {
      const v = value(next)
      return plan.shifted && f < 2 && !Number.isNaN(v) ? Math.fround(7 + (v * 3) / 10) : v
    })
    out.features.push({ key: customer, partition, value: vectors.encode({ customer_id: customer, feature_set_version: featureSetVersion, values, newest_event_time: at, computed_at: at, source_partition: partition, source_offset: i }) })
    const probability = plan.shifted ? 0.5 + next() * 0.5 : next() * 0.5
    out.scores.push({
      key: customer,
      partition,
      value: scores.encode({ customer_id: customer, probability, risk_band: 'low', model_version: champion, feature_set_version: featureSetVersion, feature_age_ms: 0, top_reasons: [], fallback_level: 'champion', source_event_time: at, scored_at: at }),
    })
    if (i % 2 === 0) {
      // Customers scored above 0.3 cancel ten minutes later; the others keep using the service.
      const event: CustomerEvent = probability > 0.3
        ? { event_id: randomUUID(), customer_id: customer, event_time: at + 10 * MINUTE, type: 'cancellation', payload: { reason: 'price', voluntary: true } }
        : { event_id: randomUUID(), customer_id: customer, event_time: at + 10 * MINUTE, type: 'usage', payload: { sessions: 3, minutes: 42, data_mb: 100 } }
      out.events.push({ key: customer, partition: (i / 2) % 2, value: events.encode(event) })
    }
  }
  return out
}

async function publish(plans: WindowPlan[], extra: { features?: Message[]; scores?: Message[] } = {}): Promise<void> {
  const records = plans.map(windowRecords)
  await producer.sendBatch({
    acks: -1,
    topicMessages: [
      { topic: catalog.customerFeatures.name, messages: [...records.flatMap((r) => r.features), ...(extra.features ?? [])] },
      { topic: catalog.scores.name, messages: [...records.flatMap((r) => r.scores), ...(extra.scores ?? [])] },
      { topic: catalog.customerEvents.name, messages: records.flatMap((r) => r.events) },
    ],
  })
}

async function decodeAll<T>(codec: AvroCodec, records: ConsumedRecord[]): Promise<T[]> {
  return Promise.all(records.map(async (record) => {
    const decoded = await codec.decode(record.value)
    if (!decoded.ok) throw new Error(decoded.message)
    return decoded.value as T
  }))
}

const readReports = async (until: (reports: number) => boolean, timeoutMs: number): Promise<DriftReportRecord[]> =>
  decodeAll<DriftReportRecord>(reportCodec, await consumeUntil(kafka, catalog.driftReports.name, (read) => until(read.length), { timeoutMs }))
const readRequests = async (timeoutMs: number): Promise<RetrainRequestRecord[]> =>
  decodeAll<RetrainRequestRecord>(requestCodec, await consumeUntil(kafka, catalog.retrainRequests.name, () => false, { timeoutMs }))

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const values = (await context.metrics.getSingleMetric(name)?.get())?.values ?? []
  return values.find((entry) => Object.entries(labels).every(([label, wanted]) => String(entry.labels[label]) === wanted))?.value
}

const window = (k: number): number => T0 + k * HOUR
const drifted = ['psi:tenure', 'ks:tenure', 'psi:charges', 'ks:charges', 'score_js']

describe('drift role', () => {
  it('reports every closed window with PSI and KS per feature, asks for retraining once after two drifted windows, holds the next streak by the cooldown, and dead-letters bad records', async () => {
    // Windows 0-1 as in training, 2-5 drifted; a few records at 06:05 on every partition move the watermark past 06:00.
    await publish(
      [...[0, 1, 2, 3, 4, 5].map((k): WindowPlan => ({ k, shifted: k >= 2, count: PER_WINDOW })), { k: 6, shifted: true, count: 8, fromMinute: 5 }],
      {
        features: [{ key: 'bad', partition: 0, value: Buffer.from('not avro') }],
        scores: [{ key: 'bad', partition: 1, value: scores.encode({ customer_id: 'bad', probability: 1.5, risk_band: 'low', model_version: champion, feature_set_version: featureSetVersion, feature_age_ms: 0, top_reasons: [], fallback_level: 'champion', source_event_time: window(5), scored_at: window(5) }) }],
      },
    )
    const role = await startDrift(context, options)
    try {
      // Six drift reports (windows 0-5) and five performance reports (cohorts of windows 0-4, matured an hour later).
      const reports = await readReports((count) => count >= 11, 60_000)
      const driftReports = reports.filter((report) => report.kind === 'drift')
      expect(driftReports.map((report) => [report.window_start, report.window_end, report.records, report.model_version])).toEqual(
        [0, 1, 2, 3, 4, 5].map((k) => [window(k), window(k + 1), PER_WINDOW, champion]),
      )
      expect(driftReports.map((report) => report.report_id)).toEqual([0, 1, 2, 3, 4, 5].map((k) => `drift:${champion}:${new Date(window(k)).toISOString()}`))
      for (const report of driftReports) {
        expect(report.features.map((feature) => feature.feature)).toEqual(names)
        for (const feature of report.features) {
          expect(feature.kind).toBe('numeric')
          expect(feature.psi).toBeGreaterThanOrEqual(0)
          expect(feature.ks).not.toBeNull()
        }
      }
      // Stationary windows stay below every threshold; the drifted ones breach on the two shifted features and the scores.
      expect(driftReports.map((report) => report.breached)).toEqual([false, false, true, true, true, true])
      for (const report of driftReports.slice(2)) expect(report.breaches).toEqual(expect.arrayContaining(drifted))
      for (const report of driftReports.slice(2)) expect(report.breaches.filter((breach) => breach.endsWith(':usage') || breach.endsWith(':tickets'))).toEqual([])
      // Window 0 is the score baseline (the metadata has no score distribution).
      expect(driftReports[0]?.score_js).toBeNull()
      expect(driftReports[1]?.score_js).toBeLessThan(0.2)
      expect(driftReports[2]?.features[0]?.psi).toBeGreaterThan(1)
      expect(driftReports[2]?.features[0]?.ks).toBeGreaterThan(0.5)

      const performance = reports.filter((report) => report.kind === 'performance')
      expect(performance.map((report) => report.window_start)).toEqual([0, 1, 2, 3, 4].map(window))
      for (const report of performance) {
        expect(report.labelled).toBe(PER_WINDOW)
        expect(report.realised_auc).not.toBeNull()
      }
      // Before the drift, the customers who cancel are those scored higher; after it, the scores tell nothing.
      expect(performance.slice(0, 2).map((report) => report.realised_auc ?? 0).every((auc) => auc > 0.7)).toBe(true)

      // One request, after windows 2 and 3; windows 4 and 5 breach again within the cooldown (3 h from 04:00).
      const requests = await readRequests(3_000)
      expect(requests.map((request) => [request.request_id, request.reason, request.model_version, request.event_time])).toEqual([
        [`drift:${champion}:${new Date(window(2)).toISOString()}`, 'drift', champion, window(4)],
      ])
      const evidence = requests[0]?.evidence ?? []
      expect(new Set(evidence.map((item) => item.window_start))).toEqual(new Set([window(2), window(3)]))
      expect(evidence.filter((item) => item.window_start === window(2)).map((item) => item.feature === null ? item.statistic : `${item.statistic}:${item.feature}`).sort()).toEqual([...drifted].sort())
      for (const item of evidence) expect(item.value).toBeGreaterThanOrEqual(item.threshold)
      const requestRecords = await consumeUntil(kafka, catalog.retrainRequests.name, (read) => read.length >= 1, { timeoutMs: 10_000 })
      expect(requestRecords.map((record) => record.key)).toEqual(['churn'])

      const dead = await consumeUntil(kafka, catalog.deadLetter(catalog.customerFeatures).name, (read) => read.length >= 1, { timeoutMs: 10_000 })
      expect(dead.map((record) => [record.headers['churn.dlq.reason'], record.headers['churn.dlq.stage']])).toEqual([['BAD_MAGIC_BYTE', 'drift']])
      const deadScores = await consumeUntil(kafka, catalog.deadLetter(catalog.scores).name, (read) => read.length >= 1, { timeoutMs: 10_000 })
      expect(deadScores.map((record) => record.headers['churn.dlq.reason'])).toEqual(['INVALID_CONTENT'])
      expect(deadScores[0]?.headers['churn.dlq.error']).toMatch(/probability/u)

      expect(await metric('churn_drift_records_total', { topic: catalog.customerFeatures.name, outcome: 'applied' })).toBe(6 * PER_WINDOW + 8)
      expect(await metric('churn_drift_records_total', { topic: catalog.customerFeatures.name, outcome: 'dead_lettered' })).toBe(1)
      expect(await metric('churn_drift_records_total', { topic: catalog.scores.name, outcome: 'dead_lettered' })).toBe(1)
      expect(await metric('churn_drift_windows_closed_total')).toBe(6)
      expect(await metric('churn_drift_retrain_requests_total', { reason: 'drift' })).toBe(1)
      expect(await metric('churn_drift_suppressed_requests')).toBe(1)
      expect(await metric('churn_drift_feature_psi', { feature: 'tenure' })).toBe(driftReports[5]?.features[0]?.psi)
      expect(await metric('churn_drift_feature_ks', { feature: 'usage' })).toBe(driftReports[5]?.features[2]?.ks)
      expect(await metric('churn_drift_score_js')).toBe(driftReports[5]?.score_js)
      expect(await metric('churn_drift_realised_roc_auc')).toBe(performance[4]?.realised_auc)
      expect(await metric('churn_drift_snapshot_bytes')).toBeGreaterThan(1_000)
      expect(await metric('churn_drift_watermark_lag_seconds')).toBeGreaterThan(0)
    } finally {
      await role.close()
    }
  })

  it('restarted, carries on from its committed state: no report again, a late record counted and accounted to the next window to close', async () => {
    const role = await startDrift(context, options)
    try {
      // The watermark stands past 06:00: a vector of 01:30 is late. Then window 6 is filled and closed.
      const late = windowRecords({ k: 1, shifted: false, count: 1, fromMinute: 30 }).features
      await producer.send({ topic: catalog.customerFeatures.name, acks: -1, messages: late })
      await publish([{ k: 6, shifted: true, count: PER_WINDOW, fromMinute: 10 }, { k: 7, shifted: true, count: 8, fromMinute: 5 }])
      const reports = await readReports((count) => count >= 13, 60_000)
      const driftReports = reports.filter((report) => report.kind === 'drift')
      expect(driftReports.map((report) => report.window_start)).toEqual([0, 1, 2, 3, 4, 5, 6].map(window))
      expect(driftReports.map((report) => report.late_records)).toEqual([0, 0, 0, 0, 0, 0, 1])
      expect(driftReports[6]?.records).toBe(PER_WINDOW + 8)
      // Nothing is published twice. Windows 5 and 6 breach, and at 07:00 the cooldown from 04:00 is over: a second request.
      const settled = await readReports(() => false, 3_000)
      expect(new Set(settled.map((report) => report.report_id)).size).toBe(settled.length)
      expect(settled).toHaveLength(13)
      expect((await readRequests(3_000)).map((request) => request.request_id)).toEqual([
        `drift:${champion}:${new Date(window(2)).toISOString()}`,
        `drift:${champion}:${new Date(window(5)).toISOString()}`,
      ])
      expect(await metric('churn_drift_records_total', { topic: catalog.customerFeatures.name, outcome: 'late' })).toBe(1)
    } finally {
      await role.close()
    }
  })
})
