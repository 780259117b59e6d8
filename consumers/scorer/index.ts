export { startScorer, scoreBatch, scorerOptionsFromConfig, type ScorerMetrics, type ScoreTally } from './scorer.js'
export { scorerOptionsSchema, type ScorerOptions, type ScorerOptionsInput } from './options.js'
