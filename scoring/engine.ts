import { Counter, Histogram, type Registry } from 'prom-client'
import { errorMessage } from '../core/errors.js'
import { metricsOnce } from '../core/metrics.js'
import type { Logger } from '../core/logger.js'
import { topReasons } from './explain/tree-shap.js'
import type { ScoringModel } from './model.js'
import type { ModelSet } from './model-manager.js'
import { defaultRiskThresholds, riskBand, type RiskThresholds } from './risk.js'
import type { FallbackLevel, Reason, Score } from './types.js'

/** A customer's feature vector to score. */
export interface VectorInput {
  customerId: string
  featureSetVersion: string
  values: ArrayLike<number>
}

export interface ScoredVector extends Score {
  /** Every feature's contribution (log-odds) when asked for; empty otherwise. */
  contributions: Float64Array
  /** The explainer's expected value (log-odds) when a model scored the vector. */
  expectedValue: number | null
}

export interface ScoringEngineOptions {
  featureSetVersion: string
  featureNames: readonly string[]
  thresholds?: RiskThresholds
  /** Reasons attached to each score. @default 3 */
  topReasons?: number
  logger: Logger
  metrics: Registry
}

export type Explanation = 'top' | 'all'

const engineMetrics = metricsOnce((registers) => ({
  levels: new Counter({ name: 'churn_scores_by_fallback_level_total', help: 'Scores by the fallback level that produced them (challenger: shadow scores).', labelNames: ['level'], registers }),
  failures: new Counter({ name: 'churn_scoring_inference_failures_total', help: 'Batches a model level could not score (the next level took over).', labelNames: ['level'], registers }),
  inference: new Histogram({ name: 'churn_scoring_inference_duration_seconds', help: 'One ONNX call for a batch, by level.', labelNames: ['level'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers }),
  distribution: new Histogram({ name: 'churn_score_probability', help: 'Distribution of emitted churn probabilities.', labelNames: ['level'], buckets: [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], registers }),
}))

const NO_CONTRIBUTIONS = new Float64Array(0)

/**
 * Scores vectors down the fallback chain: champion -> previous champion -> logistic baseline ->
 * declared rules -> base rate. A level is skipped for a vector it cannot score (no model, another
 * feature set) and for a whole batch when its inference fails; every vector gets a score.
 * Each model level is one ONNX call per batch.
 */
export class ScoringEngine {
  readonly #options: ScoringEngineOptions
  readonly #thresholds: RiskThresholds
  readonly #levels: Counter<'level'>
  readonly #failures: Counter<'level'>
  readonly #inference: Histogram<'level'>
  readonly #distribution: Histogram<'level'>

  constructor(options: ScoringEngineOptions) {
    this.#options = options
    this.#thresholds = options.thresholds ?? defaultRiskThresholds
    const metrics = engineMetrics(options.metrics)
    this.#levels = metrics.levels
    this.#failures = metrics.failures
    this.#inference = metrics.inference
    this.#distribution = metrics.distribution
  }

  get featureSetVersion(): string {
    return this.#options.featureSetVersion
  }

  get featureCount(): number {
    return this.#options.featureNames.length
  }

  get thresholds(): RiskThresholds {
    return this.#thresholds
  }

  /** Scores every input; never throws for a model's failure. */
  async score(models: ModelSet, inputs: readonly VectorInput[], explanation: Explanation = 'top'): Promise<ScoredVector[]> {
    const out: (ScoredVector | undefined)[] = new Array<ScoredVector | undefined>(inputs.length)
    let pending = inputs.map((_, i) => i)
    const chain: [FallbackLevel, ScoringModel | undefined][] = [
      ['champion', models.champion],
      ['previous_champion', models.previousChampion],
      ['baseline', models.baseline],
    ]
    for (const [level, model] of chain) {
      if (model === undefined || pending.length === 0) continue
      const scored = await this.#withModel(model, level, inputs, pending, explanation)
      for (const [i, result] of scored) out[i] = result
      pending = pending.filter((i) => out[i] === undefined)
    }
    for (const i of pending) {
      const input = inputs[i]
      if (input === undefined) continue
      const rulesApply = models.rules.size > 0 && input.featureSetVersion === this.#options.featureSetVersion && input.values.length === this.#options.featureNames.length
      if (rulesApply) {
        const { probability, reasons } = models.rules.score(input.values)
        out[i] = this.#result(input, probability, 'rules', 'rules', explanation === 'all' ? reasons : reasons.slice(0, this.#options.topReasons ?? 3), NO_CONTRIBUTIONS, null)
      } else {
        out[i] = this.#result(input, models.baseRate, 'base_rate', 'base-rate', [], NO_CONTRIBUTIONS, null)
      }
    }
    return out.filter((score): score is ScoredVector => score !== undefined)
  }

  /** Scores with the challenger only, for `churn.scores.shadow`: aligned with `inputs`, undefined where it cannot score. */
  async shadow(models: ModelSet, inputs: readonly VectorInput[]): Promise<(ScoredVector | undefined)[]> {
    if (models.challenger === undefined) return []
    const scored = await this.#withModel(models.challenger, 'challenger', inputs, inputs.map((_, i) => i), 'top')
    return inputs.map((_, i) => scored.get(i))
  }

  async #withModel(model: ScoringModel, level: FallbackLevel | 'challenger', inputs: readonly VectorInput[], candidates: readonly number[], explanation: Explanation): Promise<Map<number, ScoredVector>> {
    const cols = this.#options.featureNames.length
    const rows = candidates.filter((i) => {
      const input = inputs[i]
      return input?.featureSetVersion === model.featureSetVersion && input.values.length === cols
    })
    const scored = new Map<number, ScoredVector>()
    if (rows.length === 0) return scored
    const matrix = new Float32Array(rows.length * cols)
    rows.forEach((i, r) => {
      matrix.set(inputs[i]?.values ?? [], r * cols)
    })
    let probabilities: Float32Array
    const timer = this.#inference.startTimer({ level })
    try {
      probabilities = await model.predict(matrix, rows.length)
    } catch (error) {
      this.#failures.inc({ level })
      this.#options.logger.error({ err: error, version: model.version, level, rows: rows.length }, `inference failed, falling back: ${errorMessage(error)}`)
      return scored
    } finally {
      timer()
    }
    const k = this.#options.topReasons ?? 3
    rows.forEach((i, r) => {
      const input = inputs[i]
      if (input === undefined) return
      // Explanations use the float32 values the model saw, so contributions add up to its margin.
      const values = matrix.subarray(r * cols, (r + 1) * cols)
      // TreeSHAP is the dear part of scoring: skipped when no reasons are wanted.
      const explain = explanation === 'all' || k > 0
      const contributions = explain ? model.explainer.contributions(values) : NO_CONTRIBUTIONS
      const reasons = explain ? topReasons(contributions, this.#options.featureNames, values, explanation === 'all' ? cols : k) : []
      scored.set(i, this.#result(input, probabilities[r] ?? Number.NaN, level, model.version, reasons, explanation === 'all' ? contributions : NO_CONTRIBUTIONS, model.explainer.expectedValue))
    })
    return scored
  }

  #result(input: VectorInput, probability: number, level: FallbackLevel | 'challenger', modelVersion: string, reasons: Reason[], contributions: Float64Array, expectedValue: number | null): ScoredVector {
    this.#levels.inc({ level })
    this.#distribution.observe({ level }, probability)
    return {
      customerId: input.customerId,
      probability,
      riskBand: riskBand(probability, this.#thresholds),
      modelVersion,
      featureSetVersion: input.featureSetVersion,
      fallbackLevel: level,
      reasons,
      contributions,
      expectedValue,
    }
  }
}
