import { status } from '@grpc/grpc-js'
import type { VectorInput } from '../engine.js'
import type { CallScope } from './call-scope.js'
import type { ServedFeatures } from './features.js'
import type { ScoringHandlers } from './scoring-service.js'
import type { ModelSet } from '../model-manager.js'
import { GatewayError, invalidArgument } from './status.js'
import type { InferParameter, ModelInferRequest, ModelInferResponse, ModelMetadataResponse } from './types.js'

export const INPUT_TENSOR = 'features'
export const OUTPUT_TENSOR = 'probabilities'
export const DATATYPE = 'FP32'

/** Rows decoded from a ModelInfer request: row-major, `count` rows of the feature set's width. */
export interface FeatureTensor {
  values: Float32Array
  count: number
  /** Whether the input came as `raw_input_contents` (the output is then raw too). */
  raw: boolean
}

/**
 * The `features` tensor of a ModelInfer request (FP32, shape [N, F], given as
 * `contents.fp32_contents` or as little-endian `raw_input_contents`); INVALID_ARGUMENT names the field.
 */
export function decodeFeatureTensor(request: ModelInferRequest, served: ServedFeatures, maxRows: number): FeatureTensor {
  const cols = served.names.length
  if (request.inputs.length !== 1) throw invalidArgument('inputs', `expected exactly one input tensor, "${INPUT_TENSOR}", got ${request.inputs.length}`)
  const [input] = request.inputs
  if (input === undefined) throw invalidArgument('inputs', `expected the input tensor "${INPUT_TENSOR}"`)
  if (input.name !== INPUT_TENSOR) throw invalidArgument('inputs[0].name', `expected "${INPUT_TENSOR}", got ${JSON.stringify(input.name)}`)
  if (input.datatype !== DATATYPE) throw invalidArgument('inputs[0].datatype', `expected ${DATATYPE}, got ${JSON.stringify(input.datatype)}`)
  const [rows, width] = input.shape
  if (input.shape.length !== 2 || rows === undefined || width !== cols || !Number.isInteger(rows) || rows < 1) {
    throw invalidArgument('inputs[0].shape', `expected [N, ${cols}] (N rows of feature set ${served.version}), got [${input.shape.join(', ')}]`)
  }
  if (rows > maxRows) throw invalidArgument('inputs[0].shape', `at most ${maxRows} rows per request, got ${rows}`)
  const expected = rows * cols
  const contents = input.contents?.fp32_contents ?? []
  let values: Float32Array
  let raw = false
  if (request.raw_input_contents.length > 0) {
    if (contents.length > 0) throw invalidArgument('inputs[0].contents', 'must be empty when raw_input_contents is used')
    if (request.raw_input_contents.length !== 1) throw invalidArgument('raw_input_contents', `expected one entry per input tensor (1), got ${request.raw_input_contents.length}`)
    const bytes = request.raw_input_contents[0] ?? Buffer.alloc(0)
    if (bytes.length !== expected * 4) throw invalidArgument('raw_input_contents[0]', `expected ${expected * 4} bytes (${expected} little-endian FP32 values for shape [${rows}, ${cols}]), got ${bytes.length}`)
    values = new Float32Array(expected)
    for (let i = 0; i < expected; i++) values[i] = bytes.readFloatLE(i * 4)
    raw = true
  } else {
    if (contents.length !== expected) throw invalidArgument('inputs[0].contents.fp32_contents', `expected ${expected} values for shape [${rows}, ${cols}], got ${contents.length}`)
    values = Float32Array.from(contents)
  }
  for (let i = 0; i < expected; i++) {
    const value = values[i] ?? 0
    if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
      const r = Math.floor(i / cols)
      const j = i % cols
      throw invalidArgument(raw ? 'raw_input_contents[0]' : 'inputs[0].contents.fp32_contents', `row ${r}, feature ${served.names[j] ?? `#${j}`}: expected a finite number (NaN for a missing value), got ${value}`)
    }
  }
  return { values, count: rows, raw }
}

export interface InferenceDependencies {
  features: ServedFeatures
  scoring: ScoringHandlers
  models: () => ModelSet
  modelName: string
  maxRows: number
  serverName: string
  serverVersion: string
  ready: () => boolean
}

const stringParameter = (value: string): InferParameter => ({ string_param: value })

function littleEndian(values: Float32Array): Buffer {
  const bytes = Buffer.alloc(values.length * 4)
  values.forEach((value, i) => bytes.writeFloatLE(value, i * 4))
  return bytes
}

/**
 * The Open Inference Protocol (KServe v2) over the champion: one model, `modelName`, with input
 * `features` FP32 [N, F] and output `probabilities` FP32 [N]. Inference runs through the same
 * fallback chain as the churn.v1 calls, so ModelInfer and ScoreRaw agree on every row.
 */
export class InferenceHandlers {
  readonly #deps: InferenceDependencies

  constructor(deps: InferenceDependencies) {
    this.#deps = deps
  }

  serverLive(): { live: boolean } {
    return { live: true }
  }

  serverReady(): { ready: boolean } {
    return { ready: this.#deps.ready() }
  }

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: this.#deps.serverName, version: this.#deps.serverVersion, extensions: [] }
  }

  #checkModel(name: string, version: string, field: { name: string; version: string }): void {
    if (name !== this.#deps.modelName) throw new GatewayError(status.NOT_FOUND, `model ${JSON.stringify(name)} is not served here; the model is ${JSON.stringify(this.#deps.modelName)}`, { field: field.name })
    if (version === '') return
    const champion = this.#deps.models().champion
    if (champion?.version !== version) {
      throw new GatewayError(status.NOT_FOUND, `version ${JSON.stringify(version)} of ${name} is not served; ${champion === undefined ? 'no champion is loaded' : `the champion is ${champion.version}`}`, { field: field.version })
    }
  }

  /** Ready when a champion model is loaded (without one, inference still answers from the fallback chain). */
  modelReady(request: { name: string; version: string }): { ready: boolean } {
    this.#checkModel(request.name, '', { name: 'name', version: 'version' })
    const champion = this.#deps.models().champion
    return { ready: this.#deps.ready() && champion !== undefined && (request.version === '' || request.version === champion.version) }
  }

  modelMetadata(request: { name: string; version: string }): ModelMetadataResponse {
    this.#checkModel(request.name, request.version, { name: 'name', version: 'version' })
    const champion = this.#deps.models().champion
    return {
      name: this.#deps.modelName,
      versions: champion === undefined ? [] : [champion.version],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: INPUT_TENSOR, datatype: DATATYPE, shape: [-1, this.#deps.features.names.length] }],
      outputs: [{ name: OUTPUT_TENSOR, datatype: DATATYPE, shape: [-1] }],
    }
  }

  async modelInfer(request: ModelInferRequest, scope: CallScope): Promise<ModelInferResponse> {
    this.#checkModel(request.model_name, request.model_version, { name: 'model_name', version: 'model_version' })
    request.outputs.forEach((output, i) => {
      if (output.name !== OUTPUT_TENSOR) throw invalidArgument(`outputs[${i}].name`, `the only output is "${OUTPUT_TENSOR}", got ${JSON.stringify(output.name)}`)
    })
    const tensor = decodeFeatureTensor(request, this.#deps.features, this.#deps.maxRows)
    const cols = this.#deps.features.names.length
    const inputs: VectorInput[] = Array.from({ length: tensor.count }, (_, r) => ({ customerId: '', featureSetVersion: this.#deps.features.version, values: tensor.values.subarray(r * cols, (r + 1) * cols) }))
    const scores = await this.#deps.scoring.score(inputs, 'top', scope)
    const probabilities = Float32Array.from(scores, (score) => score.probability)
    const versions = [...new Set(scores.map((score) => score.modelVersion))]
    const levels = [...new Set(scores.map((score) => score.fallbackLevel))]
    const output = { name: OUTPUT_TENSOR, datatype: DATATYPE, shape: [tensor.count] }
    return {
      model_name: this.#deps.modelName,
      model_version: versions.length === 1 ? (versions[0] ?? '') : (this.#deps.models().champion?.version ?? ''),
      id: request.id,
      // Which link of the fallback chain answered, as the churn.v1 scores say it.
      parameters: { fallback_level: stringParameter(levels.join(',')), model_versions: stringParameter(versions.join(',')) },
      outputs: [tensor.raw ? output : { ...output, contents: { fp32_contents: Array.from(probabilities) } }],
      raw_output_contents: tensor.raw ? [littleEndian(probabilities)] : [],
    }
  }
}
