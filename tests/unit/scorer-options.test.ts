import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../core/config.js'
import { scorerOptionsFromConfig, scorerOptionsSchema } from '../../consumers/scorer/index.js'
import { parseRiskThresholds, riskBand } from '../../scoring/risk.js'

describe('scorer options', () => {
  it('come from SCORER_* variables, defaults otherwise', () => {
    const defaults = scorerOptionsSchema.parse(scorerOptionsFromConfig(parseConfig({ TOPIC_PREFIX: 'dev.' })))
    expect(defaults).toMatchObject({ groupId: 'dev.churn-scorer', epsilon: 0, topReasons: 3, rules: true, defaultBaseRate: 0.1, thresholds: { medium: 0.15, high: 0.35, critical: 0.6 } })
    const set = scorerOptionsSchema.parse(scorerOptionsFromConfig(parseConfig({ SCORER_EPSILON: '0.02', SCORER_RISK_THRESHOLDS: '0.1, 0.3, 0.5', SCORER_BASE_RATE: '0.05', SCORER_RULES: 'false', SCORER_TOP_REASONS: '0' })))
    expect(set).toMatchObject({ epsilon: 0.02, topReasons: 0, rules: false, defaultBaseRate: 0.05, thresholds: { medium: 0.1, high: 0.3, critical: 0.5 } })
  })

  it('name a bad variable', () => {
    expect(() => parseConfig({ SCORER_RISK_THRESHOLDS: '0.5,0.3,0.6' })).toThrow(/SCORER_RISK_THRESHOLDS: risk thresholds must increase/u)
    expect(() => parseConfig({ SCORER_RISK_THRESHOLDS: 'high' })).toThrow(/SCORER_RISK_THRESHOLDS: expected three probabilities/u)
    expect(() => parseConfig({ SCORER_BASE_RATE: '1' })).toThrow(/SCORER_BASE_RATE/u)
  })

  it('band probabilities at their lower bounds', () => {
    const thresholds = parseRiskThresholds('0.1,0.3,0.5')
    expect([0, 0.0999, 0.1, 0.3, 0.4999, 0.5, 1].map((p) => riskBand(p, thresholds))).toEqual(['low', 'low', 'medium', 'high', 'high', 'critical', 'critical'])
  })
})
