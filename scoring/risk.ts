import { z } from 'zod'

export const riskBands = ['low', 'medium', 'high', 'critical'] as const
export type RiskBand = (typeof riskBands)[number]

/** Lower probability bound of each band above `low`. */
export const riskThresholdsSchema = z
  .strictObject({
    medium: z.number().gt(0).lt(1),
    high: z.number().gt(0).lt(1),
    critical: z.number().gt(0).lt(1),
  })
  .refine((t) => t.medium < t.high && t.high < t.critical, { message: 'risk thresholds must increase: medium < high < critical' })

export type RiskThresholds = z.output<typeof riskThresholdsSchema>

export const defaultRiskThresholds: RiskThresholds = { medium: 0.15, high: 0.35, critical: 0.6 }

export function riskBand(probability: number, thresholds: RiskThresholds = defaultRiskThresholds): RiskBand {
  if (probability >= thresholds.critical) return 'critical'
  if (probability >= thresholds.high) return 'high'
  if (probability >= thresholds.medium) return 'medium'
  return 'low'
}

/** `"0.15,0.35,0.6"` (medium, high, critical), as operators write it in the environment. */
export function parseRiskThresholds(text: string): RiskThresholds {
  const [medium, high, critical, ...rest] = text.split(',').map((part) => Number(part.trim()))
  return riskThresholdsSchema.parse(rest.length > 0 ? {} : { medium, high, critical })
}
