export { logisticOptionsSchema, resolveLogisticOptions, type LogisticOptions, type LogisticOptionsInput } from './options.js'
export type { LogisticStructure } from './types.js'
export { LogisticModel, trainLogistic, type LogisticTrainingResult } from './logistic.js'
