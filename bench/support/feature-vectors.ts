import type { FeatureDeclaration, Field, Source } from '../../feature-store/types.js'

/** A deterministic pseudo-random stream in [0, 1) (xorshift32): the same workload on every run. */
export function randomStream(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

type Draw = (next: () => number, shift: number, vector: ArrayLike<number>) => number

function poisson(next: () => number, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(next)))
  const limit = Math.exp(-mean)
  let count = 0
  for (let product = next(); product > limit; product *= next()) count++
  return count
}

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
}

/** Events of a source per customer and day. */
function eventsPerDay(source: Source): number {
  const status = source.where?.find((condition) => condition.column === 'status')?.equals
  if (source.types.includes('usage')) return 0.8
  if (source.types.includes('support_ticket')) return 0.01
  if (status === 'failed') return 0.004
  if (status === 'late') return 0.003
  if (source.types.includes('payment')) return 1 / 30
  return 0.002
}

/** Per day of a summed field, for an average customer. */
const fieldPerDay: Readonly<Record<string, number>> = { sessions: 1.2, minutes: 40, data_mb: 450, amount: 2.2 }
const usageFields = new Set(['sessions', 'minutes', 'data_mb'])
const chargeFields = new Set(['monthly_charge', 'amount'])

/** How a shift moves a field: usage falls by it (customers use the service less), charges and payments rise by it. */
function shifted(field: Field, shift: number): number {
  return usageFields.has(field.name) ? 1 - shift : chargeFields.has(field.name) ? 1 + shift : 1
}

/** One value of a field (the last or first of an account field, the largest in a window). */
function fieldValue(field: Field, next: () => number, shift: number): number {
  switch (field.name) {
    case 'contract_months':
      return [0, 0, 12, 24][Math.floor(next() * 4)] ?? 0
    case 'services_count':
      return 1 + poisson(next, 2)
    case 'monthly_charge':
      return Math.round((20 + next() * 100) * shifted(field, shift) * 100) / 100
    case 'severity_rank':
      return Math.min(4, poisson(next, 0.8))
    default: {
      const perDay = fieldPerDay[field.name]
      if (perDay !== undefined) return Math.round(perDay * 30 * shifted(field, shift) * Math.exp(0.5 * normal(next)) * 100) / 100
      // Flags: paperless billing, senior, partner, month to month, electronic check, fiber...
      return next() < 0.35 ? 1 : 0
    }
  }
}

const lifetimeDays = 700

function sampler(declaration: FeatureDeclaration, index: ReadonlyMap<string, number>): Draw {
  const { aggregation } = declaration
  switch (aggregation.kind) {
    case 'days_since_first':
      return (next) => Math.floor(next() * 2_190)
    case 'days_since_last':
      return (next, shift) => Math.floor(-Math.log(1 - next()) * 6 * (1 + shift))
    case 'first':
      // Values at signup, from before any drift.
      return (next) => fieldValue(aggregation.field, next, 0)
    case 'last':
    case 'max':
      return (next, shift) => fieldValue(aggregation.field, next, shift)
    case 'count': {
      const days = aggregation.window === 'lifetime' ? lifetimeDays : aggregation.window
      return (next) => poisson(next, eventsPerDay(aggregation.source) * days)
    }
    case 'sum': {
      const { field, window } = aggregation
      const total = (fieldPerDay[field.name] ?? 1) * (window === 'lifetime' ? lifetimeDays : window)
      return (next, shift) => Math.round(total * shifted(field, shift) * Math.exp(0.6 * normal(next)) * 100) / 100
    }
    case 'mean': {
      const { field } = aggregation
      const perEvent = (fieldPerDay[field.name] ?? 1) * 30
      return (next, shift) => Math.max(0, Math.round(perEvent * shifted(field, shift) * (1 + 0.3 * normal(next)) * 100) / 100)
    }
    case 'distinct_days':
      return (next, shift) => Math.min(aggregation.window, poisson(next, aggregation.window * 0.6 * (1 - shift)))
    case 'open_tickets':
      return (next) => poisson(next, 0.15)
    case 'open_tickets_max':
      return (next) => (next() < 0.15 ? 1 + Math.floor(next() * 4) : 0)
    case 'ratio': {
      const numerator = index.get(aggregation.numerator) ?? -1
      const denominator = index.get(aggregation.denominator) ?? -1
      const scale = aggregation.scale ?? 1
      return (_next, _shift, vector) => {
        const below = vector[denominator] ?? 0
        return below === 0 ? declaration.default : ((vector[numerator] ?? 0) / below) * scale
      }
    }
  }
}

/**
 * Feature vectors of a declared feature set with plausible marginals per aggregation: flags and contract codes, counts
 * over their window, summed usage and payments, days since an event, ratios of the features they divide. Features are
 * drawn independently (ratios excepted); values are float32, as the models read them. A `shift` above 0 is covariate
 * drift: charges rise and usage falls by that fraction.
 */
export class FeatureSampler {
  readonly #draws: Draw[]

  constructor(declarations: readonly FeatureDeclaration[]) {
    const index = new Map(declarations.map((declaration, i) => [declaration.name, i]))
    this.#draws = declarations.map((declaration) => sampler(declaration, index))
  }

  get width(): number {
    return this.#draws.length
  }

  /** Fills `into[offset, offset + width)` with one vector. */
  draw(next: () => number, shift: number, into: Float32Array, offset = 0): void {
    const vector = into.subarray(offset, offset + this.#draws.length)
    this.#draws.forEach((draw, f) => { vector[f] = draw(next, shift, vector) })
  }
}
