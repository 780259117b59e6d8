export { startScorer, scoreBatch, scorerOptionsFromConfig, type ScorerMetrics } from './scorer.js'
export { scorerOptionsSchema, type ScorerOptions, type ScorerOptionsInput } from './options.js'
