import { SeededRandom } from '../../trainer/dataset/random.js'
import type { Matrix } from '../../trainer/dataset/types.js'

export interface SyntheticChurn {
  readonly x: Matrix
  readonly y: Uint8Array
  readonly featureNames: readonly string[]
  /** The true churn probability of each row (for checking a model against the truth). */
  readonly probability: Float64Array
}

const FEATURES = 30
const NAMES = [
  'tenure_months', 'monthly_charges', 'contract_type', 'support_calls_30d', 'logins_30d', 'logins_trend',
  'payment_failures_90d', 'plan_tier', 'discount_pct', 'data_usage_gb', 'days_since_last_login', 'autopay',
  'household_size', 'region', 'nps_score', 'app_rating',
]

/**
 * Churn-like rows with a known nonlinear logistic structure: churn falls with tenure (log-shaped), rises with support
 * calls past a threshold, with failed payments, with inactivity, and more for month-to-month contracts with high
 * charges (an interaction). Some columns have missing values; a missing NPS score itself signals risk. Features past
 * the named ones are noise. About 20 % positives.
 */
export function generateChurnLike(rows: number, seed: number): SyntheticChurn {
  const random = new SeededRandom(seed)
  const values = new Float32Array(rows * FEATURES)
  const y = new Uint8Array(rows)
  const probability = new Float64Array(rows)
  for (let row = 0; row < rows; row++) {
    const tenure = Math.floor(-24 * Math.log(1 - random.float()))
    const contract = random.int(3)
    const charges = 20 + 80 * random.float() + (contract === 0 ? 10 : 0)
    const calls = Math.floor(-1.5 * Math.log(1 - random.float()))
    const logins = Math.max(0, Math.round(20 + 8 * random.normal() - (calls > 3 ? 6 : 0)))
    const trend = random.normal()
    const failures = random.float() < 0.1 ? 1 + random.int(3) : 0
    const tier = random.int(4)
    const discount = random.float() < 0.3 ? 5 * (1 + random.int(4)) : 0
    const usage = Math.exp(1.5 + 0.8 * random.normal())
    const inactive = Math.floor(-7 * Math.log(1 - random.float()))
    const autopay = random.float() < 0.55 ? 1 : 0
    const household = 1 + random.int(5)
    const region = random.int(8)
    const npsMissing = random.float() < 0.25
    const nps = npsMissing ? Number.NaN : Math.round(Math.min(10, Math.max(0, 7 + 2.5 * random.normal())))
    const rating = random.float() < 0.1 ? Number.NaN : 1 + random.int(5)
    const named = [tenure, charges, contract, calls, logins, trend, failures, tier, discount, usage, inactive, autopay, household, region, nps, rating]

    const logit =
      -0.2 -
      1.1 * Math.log1p(tenure / 6) +
      (calls >= 4 ? 1.3 : 0.15 * calls) +
      0.6 * failures +
      0.9 * Math.tanh((inactive - 10) / 6) +
      (contract === 0 ? 0.5 + 0.02 * (charges - 60) : -0.6) -
      0.4 * trend * (logins < 15 ? 1.5 : 0.5) -
      0.5 * autopay -
      0.03 * discount +
      (npsMissing ? 0.5 : -0.15 * (nps - 7)) +
      0.25 * Math.sin(usage / 2) +
      (region === 3 ? 0.4 : 0)
    const p = 1 / (1 + Math.exp(-logit))
    probability[row] = p
    y[row] = random.float() < p ? 1 : 0
    const offset = row * FEATURES
    named.forEach((value, j) => { values[offset + j] = value })
    for (let j = named.length; j < FEATURES; j++) values[offset + j] = random.float() < 0.5 ? random.normal() : random.int(10)
  }
  const featureNames = Array.from({ length: FEATURES }, (_, j) => NAMES[j] ?? `noise_${j - NAMES.length + 1}`)
  return { x: { rows, cols: FEATURES, values }, y, featureNames, probability }
}
