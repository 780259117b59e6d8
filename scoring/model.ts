import type { InferenceSession } from 'onnxruntime-node'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import { createOnnxSession, gbdtFromMetadata, readOnnxMetadata, runOnnx } from '../trainer/onnx/runtime.js'
import type { ModelMetadata } from '../trainer/onnx/metadata.js'
import { LinearExplainer } from './explain/linear-explainer.js'
import type { Explainer } from './explain/types.js'
import { TreeExplainer } from './explain/tree-shap.js'

/** What a model must agree with to score this process's vectors. */
export interface ModelExpectations {
  featureSetVersion: string
  featureNames: readonly string[]
}

/** A registered model loaded for scoring: its ONNX session, metadata and exact explainer. */
export class ScoringModel {
  readonly version: string
  readonly metadata: ModelMetadata
  readonly explainer: Explainer
  readonly #session: InferenceSession
  #released = false

  private constructor(version: string, metadata: ModelMetadata, session: InferenceSession, explainer: Explainer) {
    this.version = version
    this.metadata = metadata
    this.#session = session
    this.explainer = explainer
  }

  get featureSetVersion(): string {
    return this.metadata.featureSetVersion
  }

  get modelType(): ModelMetadata['modelType'] {
    return this.metadata.modelType
  }

  /**
   * Loads and validates an artifact: readable metadata, the expected feature set and feature order,
   * an explainer built from the stored structure, and a warm-up inference whose outputs are
   * probabilities. Throws a VALIDATION error saying what failed; nothing half-loaded is returned.
   */
  static async load(version: string, artifact: Uint8Array, expected: ModelExpectations): Promise<ScoringModel> {
    const metadata = readOnnxMetadata(artifact)
    if (metadata.featureSetVersion !== expected.featureSetVersion) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model ${version} was trained on feature set ${metadata.featureSetVersion}, this scorer serves ${expected.featureSetVersion}`)
    }
    const mismatch = expected.featureNames.findIndex((name, j) => metadata.featureNames[j] !== name)
    if (mismatch >= 0 || metadata.featureNames.length !== expected.featureNames.length) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model ${version} orders its ${metadata.featureNames.length} features differently from feature set ${expected.featureSetVersion} (first difference at position ${Math.max(mismatch, 0)})`)
    }
    const explainer = explainerFor(version, metadata)
    let session: InferenceSession
    try {
      session = await createOnnxSession(artifact)
    } catch (error) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model ${version} is not a runnable ONNX model: ${errorMessage(error)}`, { cause: error })
    }
    const model = new ScoringModel(version, metadata, session, explainer)
    try {
      await model.#warmUp()
    } catch (error) {
      await model.release()
      throw error
    }
    return model
  }

  async #warmUp(): Promise<void> {
    const cols = this.metadata.featureNames.length
    // One row of missing values and one of zeros: both must give probabilities.
    const rows = new Float32Array(2 * cols).fill(Number.NaN, 0, cols)
    let probabilities: Float32Array
    try {
      probabilities = await this.predict(rows, 2)
    } catch (error) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model ${this.version} failed its warm-up inference: ${errorMessage(error)}`, { cause: error })
    }
    if (!probabilities.every((p) => p >= 0 && p <= 1)) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model ${this.version} gave non-probabilities on warm-up: ${Array.from(probabilities).join(', ')}`)
    }
  }

  /** Probability of churn per row; `rows` is row-major, `count` rows of the model's width. One ONNX call. */
  async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    if (this.#released) throw new ChurnError(ErrorCodes.CLOSED, `model ${this.version} was released`)
    const { probability } = await runOnnx(this.#session, { values: rows, rows: count, cols: this.metadata.featureNames.length })
    return probability
  }

  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    await this.#session.release()
  }
}

function explainerFor(version: string, metadata: ModelMetadata): Explainer {
  if (metadata.modelType === 'gbdt') return new TreeExplainer(gbdtFromMetadata(metadata))
  if (metadata.logistic !== undefined) return new LinearExplainer(metadata.logistic)
  throw new ChurnError(ErrorCodes.VALIDATION, `model ${version} (${metadata.modelType}) carries no structure to explain it with`)
}
