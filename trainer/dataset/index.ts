export type { BinaryDataset, BinaryPrediction, Matrix } from './types.js'
export {
  binaryLabels,
  createMatrix,
  matrixColumn,
  matrixFromColumns,
  matrixFromRows,
  sampleWeights,
  takeDataset,
  takeRows,
  takeValues,
} from './matrix.js'
export { parseOptions } from './parse-options.js'
export { SeededRandom } from './random.js'
