import { status } from '@grpc/grpc-js'
import { errorMessage } from '../../core/errors.js'
import type { FeatureDeclaration } from '../../feature-store/types.js'
import type { OnlineStore, OnlineVector } from '../../feature-store/online/online-store.js'
import type { Explanation, ScoredVector, VectorInput } from '../engine.js'
import type { ScoringModel } from '../model.js'
import type { ModelServing } from '../serving.js'
import type { CallScope } from './call-scope.js'
import { vectorFromMessage, type ServedFeatures } from './features.js'
import type { GatewayOptions } from './options.js'
import { GatewayError, invalidArgument } from './status.js'
import {
  fallbackLevelNames,
  riskBandNames,
  type ContributionMessage,
  type ExplainRequest,
  type ExplainResponse,
  type ModelInfoMessage,
  type ModelSlotMessage,
  type ReasonMessage,
  type ScoreCustomerRequest,
  type ScoreCustomerResponse,
  type ScoreManyRequest,
  type ScoreManyResponse,
  type ScoreManyResult,
  type ScoreMessage,
  type ScoreRawRequest,
  type ScoreRawResponse,
} from './types.js'

export interface ScoringDependencies {
  features: ServedFeatures & { readonly declarations: readonly FeatureDeclaration[] }
  serving: Pick<ModelServing, 'engine' | 'manager'>
  store: OnlineStore
  options: GatewayOptions
}

/** `value` unless it is NaN (a missing value), as a proto3 `optional double`. */
function optionalValue(value: number | null): { value?: number } {
  return value === null || Number.isNaN(value) ? {} : { value }
}

function toScoreMessage(score: ScoredVector, scoredAt: number, topReasons: number): ScoreMessage {
  return {
    customer_id: score.customerId,
    probability: score.probability,
    risk_band: riskBandNames[score.riskBand],
    model_version: score.modelVersion,
    feature_set_version: score.featureSetVersion,
    fallback_level: fallbackLevelNames[score.fallbackLevel],
    reasons: score.reasons.slice(0, topReasons).map((reason): ReasonMessage => ({ feature: reason.feature, contribution: reason.contribution, ...optionalValue(reason.value) })),
    scored_at_ms: scoredAt,
  }
}

function checkCustomerId(id: string, field: string): void {
  if (id.trim() === '') throw invalidArgument(field, 'required: a customer id')
  if (id.length > 256) throw invalidArgument(field, `at most 256 characters, got ${id.length}`)
}

function modelSlot(model: ScoringModel | undefined): ModelSlotMessage | null {
  if (model === undefined) return null
  const metrics = Object.fromEntries(Object.entries(model.metadata.metrics).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1])))
  return { version: model.version, model_type: model.modelType, feature_set_version: model.featureSetVersion, metrics }
}

/** The `churn.v1.ScoringService` calls, apart from streaming (see the gateway). */
export class ScoringHandlers {
  readonly #deps: ScoringDependencies

  constructor(deps: ScoringDependencies) {
    this.#deps = deps
  }

  /** Reads vectors from the online store; an unreachable or slow store is UNAVAILABLE (retry later), never a hang. */
  async readVectors(customerIds: readonly string[], scope: CallScope): Promise<(OnlineVector | undefined)[]> {
    const timeoutMs = this.#deps.options.redisTimeoutMs
    const unavailable = (cause: unknown): GatewayError => new GatewayError(status.UNAVAILABLE, `online store unavailable: ${errorMessage(cause)}`, { cause })
    try {
      return await scope.within(this.#deps.store.readVectors(customerIds), timeoutMs, () => unavailable(new Error(`no answer within ${timeoutMs} ms`)))
    } catch (error) {
      if (error instanceof GatewayError) throw error
      throw unavailable(error)
    }
  }

  /** One engine call (one ONNX call per fallback level) for all inputs, with the current models. */
  async score(inputs: readonly VectorInput[], explanation: Explanation, scope: CallScope): Promise<ScoredVector[]> {
    scope.check()
    const { engine, manager } = this.#deps.serving
    const { models, release } = manager.acquire()
    try {
      return await engine.score(models, inputs, explanation)
    } finally {
      await release()
    }
  }

  /** How many reasons to return, and whether the engine must explain beyond its default. */
  #reasons(requested: number): { k: number; explanation: Explanation } {
    if (requested === 0) return { k: this.#deps.options.topReasons, explanation: 'top' }
    const k = Math.min(requested, this.#deps.features.names.length)
    return { k, explanation: k > this.#deps.options.topReasons ? 'all' : 'top' }
  }

  #input(customerId: string, values: ArrayLike<number>, featureSetVersion = this.#deps.features.version): VectorInput {
    return { customerId, featureSetVersion, values }
  }

  #notFound(customerId: string): GatewayError {
    return new GatewayError(status.NOT_FOUND, `customer ${JSON.stringify(customerId)} has no features in the online store`)
  }

  async scoreCustomer(request: ScoreCustomerRequest, scope: CallScope): Promise<ScoreCustomerResponse> {
    checkCustomerId(request.customer_id, 'customer_id')
    const { k, explanation } = this.#reasons(request.top_reasons)
    const [vector] = await this.readVectors([request.customer_id], scope)
    if (vector === undefined) throw this.#notFound(request.customer_id)
    const [score] = await this.score([this.#input(vector.customerId, vector.values, vector.featureSetVersion)], explanation, scope)
    if (score === undefined) throw new GatewayError(status.INTERNAL, 'the engine returned no score')
    const now = Date.now()
    return { score: toScoreMessage(score, now, k), features_as_of_ms: vector.asOf, feature_age_ms: Math.max(0, now - vector.asOf) }
  }

  async scoreRaw(request: ScoreRawRequest, scope: CallScope): Promise<ScoreRawResponse> {
    const values = vectorFromMessage(request.features, 'features', this.#deps.features)
    const { k, explanation } = this.#reasons(request.top_reasons)
    const [score] = await this.score([this.#input(request.customer_id, values)], explanation, scope)
    if (score === undefined) throw new GatewayError(status.INTERNAL, 'the engine returned no score')
    return { score: toScoreMessage(score, Date.now(), k) }
  }

  async scoreMany(request: ScoreManyRequest, scope: CallScope): Promise<ScoreManyResponse> {
    const { maxRows } = this.#deps.options
    const total = request.customer_ids.length + request.rows.length
    if (total > maxRows) throw new GatewayError(status.INVALID_ARGUMENT, `customer_ids and rows: at most ${maxRows} items per request, got ${total}`)
    request.customer_ids.forEach((id, i) => { checkCustomerId(id, `customer_ids[${i}]`) })
    const rows = request.rows.map((row, i) => this.#input(row.customer_id, vectorFromMessage(row.features, `rows[${i}].features`, this.#deps.features)))
    const { k, explanation } = this.#reasons(request.top_reasons)
    const vectors = request.customer_ids.length === 0 ? [] : await this.readVectors(request.customer_ids, scope)
    const inputs: VectorInput[] = []
    const slots: (number | GatewayError)[] = []
    request.customer_ids.forEach((id, i) => {
      const vector = vectors[i]
      if (vector === undefined) {
        slots.push(this.#notFound(id))
      } else {
        slots.push(inputs.length)
        inputs.push(this.#input(id, vector.values, vector.featureSetVersion))
      }
    })
    for (const row of rows) {
      slots.push(inputs.length)
      inputs.push(row)
    }
    const scores = inputs.length === 0 ? [] : await this.score(inputs, explanation, scope)
    const now = Date.now()
    return {
      results: slots.map((slot, i): ScoreManyResult => {
        if (slot instanceof GatewayError) return { score: null, error: { code: slot.code, message: slot.message }, features_as_of_ms: 0, feature_age_ms: 0 }
        const score = scores[slot]
        const vector = i < request.customer_ids.length ? vectors[i] : undefined
        if (score === undefined) return { score: null, error: { code: status.INTERNAL, message: 'the engine returned no score' }, features_as_of_ms: 0, feature_age_ms: 0 }
        return { score: toScoreMessage(score, now, k), error: null, features_as_of_ms: vector?.asOf ?? 0, feature_age_ms: vector === undefined ? 0 : Math.max(0, now - vector.asOf) }
      }),
    }
  }

  async explain(request: ExplainRequest, scope: CallScope): Promise<ExplainResponse> {
    let input: VectorInput
    let asOf: number | undefined
    if (request.subject === 'customer_id') {
      const id = request.customer_id ?? ''
      checkCustomerId(id, 'customer_id')
      const [vector] = await this.readVectors([id], scope)
      if (vector === undefined) throw this.#notFound(id)
      input = this.#input(id, vector.values, vector.featureSetVersion)
      asOf = vector.asOf
    } else if (request.subject === 'features') {
      input = this.#input('', vectorFromMessage(request.features, 'features', this.#deps.features))
    } else {
      throw invalidArgument('subject', 'required: a customer_id or features')
    }
    const [score] = await this.score([input], 'all', scope)
    if (score === undefined) throw new GatewayError(status.INTERNAL, 'the engine returned no score')
    const now = Date.now()
    const names = this.#deps.features.names
    // The values the model saw are float32: report those, so contributions and values agree.
    const contributions = score.contributions.length === names.length
      ? names.map((feature, j): ContributionMessage => ({ feature, contribution: score.contributions[j] ?? 0, ...optionalValue(Math.fround(input.values[j] ?? Number.NaN)) }))
      : []
    return {
      score: toScoreMessage(score, now, names.length),
      contributions,
      ...(score.expectedValue === null ? {} : { expected_value: score.expectedValue }),
      features_as_of_ms: asOf ?? 0,
      feature_age_ms: asOf === undefined ? 0 : Math.max(0, now - asOf),
    }
  }

  modelInfo(): ModelInfoMessage {
    const { features, serving, options } = this.#deps
    const models = serving.manager.current
    const { thresholds } = serving.engine
    return {
      feature_set_version: features.version,
      features: features.declarations.map((feature) => ({ name: feature.name, description: feature.description })),
      champion: modelSlot(models.champion),
      previous_champion: modelSlot(models.previousChampion),
      challenger: modelSlot(models.challenger),
      baseline: modelSlot(models.baseline),
      base_rate: models.baseRate,
      thresholds: { medium: thresholds.medium, high: thresholds.high, critical: thresholds.critical },
      max_rows: options.maxRows,
      refused: Object.fromEntries(serving.manager.refused),
      inference_model_name: options.modelName,
    }
  }
}
