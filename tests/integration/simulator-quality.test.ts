import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { DAY_MS, FeatureSet } from '../../feature-store/feature-set.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { buildTrainingSet } from '../../feature-store/offline/training-set.js'
import { bayesOptimalAuc, createSimulator } from '../../producers/simulator/index.js'
import { rocAuc, trainGbdt } from '../../trainer/index.js'
import { tempDir } from '../support/factories.js'

const client = createOfflineClient({ path: tempDir('chdb-quality') })
afterAll(() => client.close())

describe('model quality on simulated data', () => {
  it('reaches at least 0.97 of the Bayes-optimal AUC on the most recent time slice, with labels equal to the ground truth', async () => {
    const start = Date.UTC(2025, 0, 1)
    const simulator = createSimulator({ seed: 5, customers: 3_000, start, signupsPerDay: 4, groundTruth: { everyDays: 14, share: 1 } })
    const events = simulator.advanceTo(start + 330 * DAY_MS)
    const points = simulator.observations()
    await migrate(client)
    const rows = events.map((event, i) => eventRow(event, { topic: 'customer.events', partition: 0, offset: String(i) }))
    for (let i = 0; i < rows.length; i += 100_000) await client.insert({ table: 'customer_events', values: rows.slice(i, i + 100_000), format: 'JSONEachRow' })

    const featureSet = new FeatureSet(churnFeatures)
    const horizonDays = points[0]?.horizonDays ?? 30
    const set = await buildTrainingSet(client, featureSet, { observations: points.map((p) => ({ customer_id: p.customerId, as_of: p.asOf })), horizonDays })
    const truth = new Map(points.map((p) => [`${p.customerId}@${p.asOf}`, p]))
    // The offline store's point-in-time labels are the simulator's ground truth, row for row.
    set.observations.forEach((o, i) => { expect(set.labels[i]).toBe(truth.get(`${o.customer_id}@${o.as_of}`)?.label === true ? 1 : 0) })

    // Train on the past, evaluate on the most recent slice: never a random split on a stream.
    const cut = start + 240 * DAY_MS
    const width = featureSet.names.length
    const rowsOf = (keep: (asOf: number) => boolean): number[] => set.observations.flatMap((o, i) => (keep(o.as_of) ? [i] : []))
    const subset = (indices: number[]): { x: { rows: number; cols: number; values: Float32Array }; y: number[] } => {
      const values = new Float32Array(indices.length * width)
      indices.forEach((row, j) => { values.set(set.features.subarray(row * width, (row + 1) * width), j * width) })
      return { x: { rows: indices.length, cols: width, values }, y: indices.map((row) => set.labels[row] ?? 0) }
    }
    const trainRows = rowsOf((asOf) => asOf < cut)
    const testRows = rowsOf((asOf) => asOf >= cut)
    const { model } = trainGbdt(subset(trainRows), { numTrees: 400, learningRate: 0.05, numLeaves: 15, minSamplesLeaf: 50, earlyStoppingRounds: 30, validationFraction: 0.2, seed: 1 })
    const test = subset(testRows)
    const modelAuc = rocAuc(test.y, model.predict(test.x).probability)
    const bayes = bayesOptimalAuc(testRows.map((row) => {
      const o = set.observations[row]
      const point = truth.get(`${o?.customer_id ?? ''}@${o?.as_of ?? 0}`)
      return { probability: point?.probability ?? 0, label: point?.label ?? false }
    }))
    expect(test.y.reduce((a, b) => a + b, 0)).toBeGreaterThan(100)
    expect(modelAuc / bayes).toBeGreaterThanOrEqual(0.97)
  }, 180_000)
})
