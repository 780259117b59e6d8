/**
 * A dense feature matrix, row-major, float32: the layout of the ONNX input tensor `[rows, cols]`, so a matrix goes to
 * onnxruntime without a copy and the trainer compares exactly the values the runtime will see. NaN marks a missing value.
 */
export interface Matrix {
  readonly rows: number
  readonly cols: number
  readonly values: Float32Array
}

/** Rows with binary labels (0 or 1) and optional non-negative sample weights. */
export interface BinaryDataset {
  readonly x: Matrix
  readonly y: ArrayLike<number>
  readonly weights?: ArrayLike<number>
}

/** Raw margin (log-odds) and probability of the positive class per row. */
export interface BinaryPrediction {
  readonly margin: Float64Array
  readonly probability: Float64Array
}
