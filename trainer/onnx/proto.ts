import onnxProto from 'onnx-proto'
import { ChurnError, ErrorCodes } from '../../core/errors.js'

/** The protobufjs build of onnx.proto (onnx 1.10, IR version 8). */
export const { onnx } = onnxProto
export type IModelProto = onnxProto.onnx.IModelProto
export type INodeProto = onnxProto.onnx.INodeProto
export type IAttributeProto = onnxProto.onnx.IAttributeProto
export type IValueInfoProto = onnxProto.onnx.IValueInfoProto

const AttributeType = onnx.AttributeProto.AttributeType
const encoder = new TextEncoder()

export const attribute = {
  float: (name: string, f: number): IAttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  int: (name: string, i: number): IAttributeProto => ({ name, type: AttributeType.INT, i }),
  string: (name: string, s: string): IAttributeProto => ({ name, type: AttributeType.STRING, s: encoder.encode(s) }),
  floats: (name: string, floats: ArrayLike<number>): IAttributeProto => ({ name, type: AttributeType.FLOATS, floats: Array.from(floats) }),
  ints: (name: string, ints: ArrayLike<number>): IAttributeProto => ({ name, type: AttributeType.INTS, ints: Array.from(ints) }),
  strings: (name: string, strings: readonly string[]): IAttributeProto => ({
    name,
    type: AttributeType.STRINGS,
    strings: strings.map((s) => encoder.encode(s)),
  }),
}

/** A tensor value: `dims` are numbers (fixed) or strings (symbolic, e.g. the batch size). */
export function tensorValue(name: string, elemType: 'float' | 'int64', dims: readonly (number | string)[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  }
}

export interface GraphSpec {
  readonly name: string
  readonly nodes: readonly INodeProto[]
  readonly inputs: readonly IValueInfoProto[]
  readonly outputs: readonly IValueInfoProto[]
  readonly metadata: Readonly<Record<string, string>>
  readonly docString: string
}

/** ai.onnx opset 17 and ai.onnx.ml opset 3, IR version 8: what onnxruntime 1.x runs and onnx-proto can express. */
export const OPSETS = { onnx: 17, ml: 3 } as const
export const IR_VERSION = 8

export function encodeModel(spec: GraphSpec): Uint8Array {
  const model: IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'churn-platform-trainer',
    producerVersion: '1',
    docString: spec.docString,
    opsetImport: [
      { domain: '', version: OPSETS.onnx },
      { domain: 'ai.onnx.ml', version: OPSETS.ml },
    ],
    graph: {
      name: spec.name,
      node: [...spec.nodes],
      input: [...spec.inputs],
      output: [...spec.outputs],
    },
    metadataProps: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
  }
  const error = onnx.ModelProto.verify(model)
  if (error !== null) throw new ChurnError(ErrorCodes.VALIDATION, `ONNX model does not verify: ${error}`)
  return onnx.ModelProto.encode(model).finish()
}

export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes)
}
