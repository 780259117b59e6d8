/**
 * A logistic model on standardised features: margin = intercept + sum_j coefficients[j] * (x_j - means[j]) * scales[j],
 * a missing x_j contributing 0. Every number is float32-representable, the precision of the ONNX artifact, so the
 * trainer and ONNX Runtime compute the same margin.
 */
export interface LogisticStructure {
  intercept: number
  coefficients: number[]
  /** Training mean of each feature; also the value a missing (NaN) input takes. */
  means: number[]
  /** 1 / training standard deviation of each feature (1 for a constant feature). */
  scales: number[]
}
