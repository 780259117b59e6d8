import { readFile } from 'node:fs/promises'
import { InferenceSession, Tensor } from 'onnxruntime-node'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import type { Matrix } from '../dataset/types.js'
import { GbdtModel } from '../gbdt/model.js'
import { parseMetadata, type ModelMetadata } from './metadata.js'
import { decodeModel } from './proto.js'
import { ONNX_INPUT, ONNX_LABEL, ONNX_PROBABILITIES, type OnnxBinaryOutput } from './types.js'

/** Reads the metadata of an ONNX artifact (bytes) without running it. */
export function readOnnxMetadata(bytes: Uint8Array): ModelMetadata {
  let raw: Record<string, string>
  try {
    const model = decodeModel(bytes)
    raw = Object.fromEntries(model.metadataProps.map((entry) => [entry.key ?? '', entry.value ?? '']))
  } catch (error) {
    throw new ChurnError(ErrorCodes.VALIDATION, `not an ONNX model: ${errorMessage(error)}`, { cause: error })
  }
  return parseMetadata(raw)
}

/** Reads the metadata of an ONNX artifact file. */
export async function loadOnnxMetadata(path: string): Promise<ModelMetadata> {
  return readOnnxMetadata(await readFile(path))
}

/** The GBDT described by an artifact's metadata (the same trees the ONNX graph holds), e.g. for TreeSHAP. */
export function gbdtFromMetadata(metadata: ModelMetadata): GbdtModel {
  if (metadata.trees === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `a ${metadata.modelType} model has no trees`)
  return GbdtModel.fromStructure(metadata.trees)
}

export async function createOnnxSession(bytes: Uint8Array, options: InferenceSession.SessionOptions = {}): Promise<InferenceSession> {
  return InferenceSession.create(bytes, { executionProviders: ['cpu'], ...options })
}

/** Runs an exported model on a matrix with onnxruntime-node. */
export async function runOnnx(session: InferenceSession, x: Matrix): Promise<OnnxBinaryOutput> {
  const input = new Tensor('float32', x.values, [x.rows, x.cols])
  const outputs = await session.run({ [ONNX_INPUT]: input })
  const label = outputs[ONNX_LABEL]?.data
  const probabilities = outputs[ONNX_PROBABILITIES]?.data
  if (!(label instanceof BigInt64Array) || !(probabilities instanceof Float32Array) || probabilities.length !== 2 * x.rows) {
    throw new ChurnError(ErrorCodes.VALIDATION, 'ONNX model outputs are not label int64 [N] and probabilities float [N, 2]')
  }
  const probability = new Float32Array(x.rows)
  for (let row = 0; row < x.rows; row++) probability[row] = probabilities[2 * row + 1] ?? Number.NaN
  return { label, probability }
}
