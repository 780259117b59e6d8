import { Counter, Gauge, type Registry } from 'prom-client'
import { errorMessage } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { metricsOnce } from '../core/metrics.js'
import type { RegistryState } from './model-log.js'
import { ScoringModel, type ModelExpectations } from './model.js'
import { RuleScorer, churnRules, type BusinessRule } from './rules.js'

/** The models one batch is scored with: taken once per batch, so a swap happens between batches. */
export interface ModelSet {
  readonly champion?: ScoringModel
  readonly previousChampion?: ScoringModel
  readonly challenger?: ScoringModel
  readonly baseline?: ScoringModel
  readonly rules: RuleScorer
  readonly baseRate: number
}

type Slot = 'champion' | 'previousChampion' | 'challenger' | 'baseline'
const slots: readonly Slot[] = ['champion', 'previousChampion', 'challenger', 'baseline']

/** Where artifacts come from: the model log, or anything else that knows versions' bytes. */
export interface ModelSource {
  readonly state: RegistryState | undefined
  artifact(version: string): Uint8Array | undefined
}

export interface ModelManagerOptions {
  expected: ModelExpectations
  /** Churn rate assumed when no model states one. */
  defaultBaseRate: number
  logger: Logger
  metrics: Registry
  rules?: readonly BusinessRule[]
}

const managerMetrics = metricsOnce((registers) => ({
  loads: new Counter({ name: 'churn_scorer_model_loads_total', help: 'Model artifacts loaded for scoring, by outcome (loaded, refused).', labelNames: ['outcome'], registers }),
  info: new Gauge({ name: 'churn_model_info', help: 'The model each slot serves (value 1), with its feature-set version.', labelNames: ['slot', 'version', 'feature_set_version'], registers }),
}))

interface Lease {
  set: ModelSet
  users: number
}

/**
 * Keeps the set of loaded models in step with the registry: on a change it loads and validates the
 * newly named versions, then swaps the whole set at once. A version that fails validation is refused
 * (logged, counted) and the model it would have replaced keeps serving. Replaced models are released
 * when the last batch using them finishes.
 */
export class ModelManager {
  readonly #options: ModelManagerOptions
  readonly #loads: Counter<'outcome'>
  readonly #info: Gauge<'slot' | 'version' | 'feature_set_version'>
  readonly #refused = new Map<string, string>()
  #lease: Lease
  readonly #retired = new Set<Lease>()
  #updating: Promise<void> = Promise.resolve()

  constructor(options: ModelManagerOptions) {
    this.#options = options
    const metrics = managerMetrics(options.metrics)
    this.#loads = metrics.loads
    this.#info = metrics.info
    this.#lease = { set: this.#build({}), users: 0 }
  }

  get current(): ModelSet {
    return this.#lease.set
  }

  /** Versions refused by validation, with the reason. */
  get refused(): ReadonlyMap<string, string> {
    return this.#refused
  }

  /** The current set for one batch; call the returned release when the batch is done. */
  acquire(): { models: ModelSet; release: () => Promise<void> } {
    const lease = this.#lease
    lease.users += 1
    return {
      models: lease.set,
      release: async () => {
        lease.users -= 1
        await this.#releaseRetired()
      },
    }
  }

  /** Loads what `source` names; updates run one at a time in the order asked. */
  update(source: ModelSource): Promise<void> {
    this.#updating = this.#updating.then(() => this.#update(source)).catch((error: unknown) => {
      this.#options.logger.error({ err: error }, `model update failed: ${errorMessage(error)}`)
    })
    return this.#updating
  }

  async #update(source: ModelSource): Promise<void> {
    const state = source.state
    if (state === undefined) return
    const old = this.#lease.set
    const loaded = new Map<string, ScoringModel>()
    for (const slot of slots) {
      const model = old[slot]
      if (model !== undefined) loaded.set(model.version, model)
    }
    const next: Partial<Record<Slot, ScoringModel>> = {}
    for (const slot of slots) {
      const version = state[slot]
      const model = version === undefined ? undefined : await this.#model(version, loaded, source)
      // A version not loadable (refused, or its artifact not read yet) leaves the slot as it was.
      const chosen = version === undefined ? undefined : (model ?? old[slot])
      if (chosen !== undefined) next[slot] = chosen
    }
    if (slots.every((slot) => next[slot] === old[slot])) return
    this.#retired.add(this.#lease)
    this.#lease = { set: this.#build(next), users: 0 }
    this.#options.logger.info(
      Object.fromEntries(slots.map((slot) => [slot, next[slot]?.version ?? null])),
      'models swapped',
    )
    await this.#releaseRetired()
  }

  async #model(version: string, loaded: Map<string, ScoringModel>, source: ModelSource): Promise<ScoringModel | undefined> {
    const existing = loaded.get(version)
    if (existing !== undefined) return existing
    if (this.#refused.has(version)) return undefined
    const artifact = source.artifact(version)
    if (artifact === undefined) return undefined
    try {
      const model = await ScoringModel.load(version, artifact, this.#options.expected)
      loaded.set(version, model)
      this.#loads.inc({ outcome: 'loaded' })
      this.#options.logger.info({ version, modelType: model.modelType }, 'model loaded')
      return model
    } catch (error) {
      this.#refused.set(version, errorMessage(error))
      this.#loads.inc({ outcome: 'refused' })
      this.#options.logger.error({ version, err: error }, `model refused: ${errorMessage(error)}`)
      return undefined
    }
  }

  #build(models: Partial<Record<Slot, ScoringModel>>): ModelSet {
    const { expected, defaultBaseRate, rules } = this.#options
    const metrics = models.champion?.metadata.metrics ?? {}
    const stated = metrics['positive_rate'] ?? metrics['holdout_positive_rate']
    const baseRate = typeof stated === 'number' && stated > 0 && stated < 1 ? stated : defaultBaseRate
    this.#info.reset()
    for (const slot of slots) {
      const model = models[slot]
      if (model !== undefined) this.#info.set({ slot, version: model.version, feature_set_version: model.featureSetVersion }, 1)
    }
    return { ...models, baseRate, rules: new RuleScorer(rules ?? churnRules, expected.featureNames, baseRate) }
  }

  async #releaseRetired(): Promise<void> {
    const inUse = new Set<ScoringModel>()
    for (const lease of [this.#lease, ...this.#retired]) {
      if (lease !== this.#lease && lease.users === 0) continue
      for (const slot of slots) {
        const model = lease.set[slot]
        if (model !== undefined) inUse.add(model)
      }
    }
    for (const lease of [...this.#retired]) {
      if (lease.users > 0) continue
      this.#retired.delete(lease)
      for (const slot of slots) {
        const model = lease.set[slot]
        if (model !== undefined && !inUse.has(model)) await model.release()
      }
    }
  }

  /** Releases every loaded model. */
  async close(): Promise<void> {
    await this.#updating
    this.#retired.add(this.#lease)
    this.#lease = { set: this.#build({}), users: 0 }
    await this.#releaseRetired()
  }
}
