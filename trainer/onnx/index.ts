export { ONNX_INPUT, ONNX_LABEL, ONNX_PROBABILITIES, type OnnxBinaryOutput } from './types.js'
export { gbdtToOnnx } from './export-gbdt.js'
export { logisticToOnnx } from './export-logistic.js'
export {
  METADATA_FORMAT_VERSION,
  METADATA_KEYS,
  hashTrainingData,
  referenceDistributions,
  type ModelMetadata,
  type ModelMetadataInput,
  type ModelType,
  type ReferenceDistribution,
  type TrainingWindow,
} from './metadata.js'
export { createOnnxSession, gbdtFromMetadata, loadOnnxMetadata, readOnnxMetadata, runOnnx } from './runtime.js'
