import type { Reason } from './explain/types.js'
import type { RiskBand } from './risk.js'

export type { Reason }

/** Which link of the fallback chain produced a score. `challenger` marks shadow scores. */
export const fallbackLevels = ['champion', 'previous_champion', 'baseline', 'rules', 'base_rate'] as const
export type FallbackLevel = (typeof fallbackLevels)[number]

export interface Score {
  customerId: string
  probability: number
  riskBand: RiskBand
  /** Version of the model behind the score; `rules` or `base-rate` when no model was used. */
  modelVersion: string
  featureSetVersion: string
  fallbackLevel: FallbackLevel | 'challenger'
  reasons: Reason[]
}
