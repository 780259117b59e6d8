/** Names of the graph's input and outputs, the same for every model the trainer exports. */
export const ONNX_INPUT = 'features'
export const ONNX_LABEL = 'label'
export const ONNX_PROBABILITIES = 'probabilities'

/** Output of running an exported model. */
export interface OnnxBinaryOutput {
  /** Predicted class per row (0 or 1). */
  readonly label: BigInt64Array
  /** Probability of the positive class per row (column 1 of the `probabilities` output). */
  readonly probability: Float32Array
}
