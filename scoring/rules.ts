import { ChurnError, ErrorCodes } from '../core/errors.js'
import { sigmoid } from '../trainer/gbdt/model.js'
import type { Reason } from './types.js'

/**
 * A declared business rule: when `feature op threshold` holds, the log-odds of churn move by `weight`.
 * Rules are the last informed fallback, used when no model can score a vector: retention teams know
 * these signals without a model.
 */
export interface BusinessRule {
  readonly name: string
  readonly feature: string
  readonly op: '>=' | '>' | '<=' | '<'
  readonly threshold: number
  /** Added to the log-odds when the rule fires. */
  readonly weight: number
  readonly description: string
}

export const churnRules: readonly BusinessRule[] = [
  { name: 'repeated_failed_payments', feature: 'failed_payments_30d', op: '>=', threshold: 2, weight: 1.2, description: 'two or more failed payments in 30 days' },
  { name: 'failed_payment', feature: 'failed_payments_30d', op: '>=', threshold: 1, weight: 0.6, description: 'a failed payment in 30 days' },
  { name: 'gone_quiet', feature: 'days_since_usage', op: '>=', threshold: 14, weight: 1.0, description: 'no usage for two weeks' },
  { name: 'usage_falling', feature: 'usage_trend_7_30', op: '<', threshold: 0.5, weight: 0.5, description: 'last week used less than half the monthly pace' },
  { name: 'open_severe_ticket', feature: 'worst_open_ticket_severity', op: '>=', threshold: 3, weight: 0.7, description: 'an open high-severity support ticket' },
  { name: 'month_to_month', feature: 'is_month_to_month', op: '>=', threshold: 1, weight: 0.5, description: 'no contract term' },
  { name: 'price_rise', feature: 'charge_vs_signup', op: '>=', threshold: 1.15, weight: 0.4, description: 'paying 15% or more above the signup price' },
  { name: 'long_tenure', feature: 'tenure_days', op: '>=', threshold: 730, weight: -0.6, description: 'a customer for two years or more' },
]

const holds = (value: number, op: BusinessRule['op'], threshold: number): boolean => {
  switch (op) {
    case '>=':
      return value >= threshold
    case '>':
      return value > threshold
    case '<=':
      return value <= threshold
    case '<':
      return value < threshold
  }
}

/** Scores a vector with declared rules around a base rate. A missing (NaN) feature fires no rule. */
export class RuleScorer {
  readonly #rules: readonly { rule: BusinessRule; index: number }[]
  readonly #baseMargin: number

  constructor(rules: readonly BusinessRule[], featureNames: readonly string[], baseRate: number) {
    this.#rules = rules.map((rule) => {
      const index = featureNames.indexOf(rule.feature)
      if (index < 0) throw new ChurnError(ErrorCodes.VALIDATION, `business rule ${rule.name} uses feature ${rule.feature}, which the feature set does not declare`)
      return { rule, index }
    })
    this.#baseMargin = Math.log(baseRate / (1 - baseRate))
  }

  /** Rules this scorer applies; with none, the chain goes straight to the base rate. */
  get size(): number {
    return this.#rules.length
  }

  score(values: ArrayLike<number>): { probability: number; reasons: Reason[] } {
    let margin = this.#baseMargin
    const reasons: Reason[] = []
    for (const { rule, index } of this.#rules) {
      const value = values[index] ?? Number.NaN
      if (Number.isNaN(value) || !holds(value, rule.op, rule.threshold)) continue
      margin += rule.weight
      reasons.push({ feature: rule.feature, contribution: rule.weight, value })
    }
    reasons.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    return { probability: sigmoid(margin), reasons }
  }
}
