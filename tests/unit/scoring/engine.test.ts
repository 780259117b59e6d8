import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { churnFeatures } from '../../../feature-store/declarations.js'
import { FeatureSet } from '../../../feature-store/feature-set.js'
import { ScoringEngine, type VectorInput } from '../../../scoring/engine.js'
import { ScoringModel } from '../../../scoring/model.js'
import { ModelManager, type ModelSource } from '../../../scoring/model-manager.js'
import type { RegistryState } from '../../../scoring/model-log.js'
import { riskBand } from '../../../scoring/risk.js'
import { RuleScorer, churnRules } from '../../../scoring/rules.js'
import { sigmoid } from '../../../trainer/gbdt/index.js'
import { testLogger } from '../../support/factories.js'
import { trainedArtifacts } from '../../support/models.js'

const featureSet = new FeatureSet(churnFeatures)
const names = featureSet.names
const expected = { featureSetVersion: featureSet.version, featureNames: names }
const first = trainedArtifacts(names, featureSet.version, { seed: 1 })
const second = trainedArtifacts(names, featureSet.version, { seed: 2, trees: 20 })
const foreign = trainedArtifacts(names, 'fs-other', { seed: 3, trees: 5 })

class Source implements ModelSource {
  state: RegistryState | undefined
  readonly bytes = new Map<string, Uint8Array>([['v1', first.gbdt], ['v2', second.gbdt], ['v3', first.logistic], ['v4', foreign.gbdt], ['v5', Uint8Array.from([1, 2, 3])]])
  artifact(version: string): Uint8Array | undefined {
    return this.bytes.get(version)
  }
}

function rows(count: number, fsv = featureSet.version): VectorInput[] {
  return Array.from({ length: count }, (_, i) => ({ customerId: `c${i}`, featureSetVersion: fsv, values: first.sample.subarray((i % 20) * names.length, ((i % 20) + 1) * names.length) }))
}

function setup(): { manager: ModelManager; engine: ScoringEngine; metrics: Registry; source: Source } {
  const metrics = new Registry()
  const manager = new ModelManager({ expected, defaultBaseRate: 0.1, logger: testLogger, metrics })
  const engine = new ScoringEngine({ featureSetVersion: featureSet.version, featureNames: names, logger: testLogger, metrics })
  return { manager, engine, metrics, source: new Source() }
}

const managers: ModelManager[] = []
afterAll(async () => {
  for (const manager of managers) await manager.close()
})

describe('scoring model', () => {
  it('refuses an artifact of another feature set, bytes that are not ONNX, and a model with its features in another order', async () => {
    await expect(ScoringModel.load('v4', foreign.gbdt, expected)).rejects.toThrow(/trained on feature set fs-other/u)
    await expect(ScoringModel.load('v5', Uint8Array.from([1, 2, 3]), expected)).rejects.toThrow(/not an ONNX model/u)
    const shuffled = trainedArtifacts([...names].reverse(), featureSet.version, { trees: 3 })
    await expect(ScoringModel.load('v6', shuffled.gbdt, expected)).rejects.toThrow(/orders its 36 features differently/u)
  })
})

describe('scoring engine', () => {
  it('scores with the champion: ONNX probabilities equal the trainer, reasons are exact TreeSHAP', async () => {
    const { manager, engine, source } = setup()
    managers.push(manager)
    source.state = { at: 1, champion: 'v1' }
    await manager.update(source)
    const inputs = rows(20)
    const scores = await engine.score(manager.current, inputs, 'all')
    const margins = first.model.predictMargin({ rows: 20, cols: names.length, values: Float32Array.from(first.sample) })
    expect(scores).toHaveLength(20)
    scores.forEach((score, i) => {
      expect(score).toMatchObject({ fallbackLevel: 'champion', modelVersion: 'v1', customerId: `c${i}`, riskBand: riskBand(score.probability) })
      expect(score.probability).toBeCloseTo(sigmoid(margins[i] ?? 0), 5)
      const total = score.contributions.reduce((sum, c) => sum + c, score.expectedValue ?? Number.NaN)
      expect(total).toBeCloseTo(margins[i] ?? 0, 5)
      expect(score.reasons).toHaveLength(score.contributions.filter((c) => c !== 0).length)
    })
    const top = await engine.score(manager.current, inputs.slice(0, 1), 'top')
    expect(top[0]?.reasons).toHaveLength(3)
    expect(top[0]?.reasons.map((r) => Math.abs(r.contribution))).toEqual([...(top[0]?.reasons ?? [])].map((r) => Math.abs(r.contribution)).sort((a, b) => b - a))
  })

  it('falls down the chain: previous champion when the champion fails, baseline, rules, and base rate for another feature set', async () => {
    const { manager, engine, source, metrics } = setup()
    managers.push(manager)
    source.state = { at: 1, champion: 'v2', previousChampion: 'v1', baseline: 'v3' }
    await manager.update(source)
    expect((await engine.score(manager.current, rows(3)))[0]).toMatchObject({ fallbackLevel: 'champion', modelVersion: 'v2' })

    // An unhealthy model's inference throws; every batch tries it again, then falls to the next level.
    await manager.current.champion?.release()
    expect((await engine.score(manager.current, rows(3))).map((s) => s.fallbackLevel)).toEqual(['previous_champion', 'previous_champion', 'previous_champion'])
    await manager.current.previousChampion?.release()
    const baseline = await engine.score(manager.current, rows(3), 'all')
    expect(baseline[0]).toMatchObject({ fallbackLevel: 'baseline', modelVersion: 'v3' })
    const linear = baseline[0]
    expect(sigmoid(linear?.contributions.reduce((sum, c) => sum + c, linear.expectedValue ?? 0) ?? 0)).toBeCloseTo(linear?.probability ?? -1, 5)
    await manager.current.baseline?.release()
    const ruled = await engine.score(manager.current, rows(3))
    expect(ruled.map((s) => s.fallbackLevel)).toEqual(['rules', 'rules', 'rules'])
    expect(ruled[0]?.modelVersion).toBe('rules')
    const other = await engine.score(manager.current, rows(2, 'fs-unknown'))
    expect(other.map((s) => [s.fallbackLevel, s.probability])).toEqual([['base_rate', manager.current.baseRate], ['base_rate', manager.current.baseRate]])
    const failures = (await metrics.getSingleMetric('churn_scoring_inference_failures_total')?.get())?.values.map((v) => `${String(v.labels['level'])}=${v.value}`)
    expect(failures?.sort()).toEqual(['baseline=1', 'champion=3', 'previous_champion=2'])
  })

  it('with no model at all scores by rules, or the base rate when rules are off', async () => {
    const { manager, engine } = setup()
    managers.push(manager)
    const scores = await engine.score(manager.current, rows(5))
    expect(new Set(scores.map((s) => s.fallbackLevel))).toEqual(new Set(['rules']))
    const noRules = new ModelManager({ expected, defaultBaseRate: 0.07, logger: testLogger, metrics: new Registry(), rules: [] })
    managers.push(noRules)
    const base = await engine.score(noRules.current, rows(5))
    expect(base.map((s) => [s.fallbackLevel, s.probability, s.modelVersion])).toEqual(Array.from({ length: 5 }, () => ['base_rate', 0.07, 'base-rate']))
  })

  it('refuses a model that fails validation and keeps the old one serving; swaps a valid one and releases the replaced one after its batch', async () => {
    const { manager, source, metrics } = setup()
    managers.push(manager)
    source.state = { at: 1, champion: 'v1' }
    await manager.update(source)
    const inFlight = manager.acquire()
    source.state = { at: 2, champion: 'v4', previousChampion: 'v1' }
    await manager.update(source)
    expect(manager.current.champion?.version).toBe('v1')
    expect(manager.refused.get('v4')).toMatch(/fs-other/u)
    source.state = { at: 3, champion: 'v2' }
    await manager.update(source)
    expect(manager.current.champion?.version).toBe('v2')
    // The batch that started before the swap still scores with v1 until it is done.
    expect(inFlight.models.champion?.version).toBe('v1')
    await expect(inFlight.models.champion?.predict(new Float32Array(names.length), 1)).resolves.toHaveLength(1)
    await inFlight.release()
    await expect(inFlight.models.champion?.predict(new Float32Array(names.length), 1)).rejects.toThrow(/released/u)
    const loads = (await metrics.getSingleMetric('churn_scorer_model_loads_total')?.get())?.values.map((v) => `${String(v.labels['outcome'])}=${v.value}`)
    expect(loads?.sort()).toEqual(['loaded=2', 'refused=1'])
  })
})

describe('rules', () => {
  it('move the log-odds of the base rate by the weights of the rules that fire, and name them as reasons', () => {
    const scorer = new RuleScorer(churnRules, names, 0.1)
    const values = new Float64Array(names.length).fill(Number.NaN)
    expect(scorer.score(values)).toEqual({ probability: expect.closeTo(0.1, 12) as number, reasons: [] })
    values[names.indexOf('failed_payments_30d')] = 2
    values[names.indexOf('tenure_days')] = 1_000
    const { probability, reasons } = scorer.score(values)
    expect(reasons.map((r) => r.feature)).toEqual(['failed_payments_30d', 'failed_payments_30d', 'tenure_days'])
    expect(probability).toBeCloseTo(sigmoid(Math.log(0.1 / 0.9) + 1.2 + 0.6 - 0.6), 12)
    expect(() => new RuleScorer([{ name: 'x', feature: 'nope', op: '>', threshold: 1, weight: 1, description: '' }], names, 0.1)).toThrow(/does not declare/u)
  })
})
