import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { GbdtModel } from '../gbdt/model.js'
import { buildMetadata, type ModelMetadataInput } from './metadata.js'
import { attribute, encodeModel, tensorValue } from './proto.js'
import { ONNX_INPUT, ONNX_LABEL, ONNX_PROBABILITIES } from './types.js'

/**
 * The GBDT as one `ai.onnx.ml.TreeEnsembleClassifier`: input `features` float [N, F], outputs `label` int64 [N] and
 * `probabilities` float [N, 2] (a plain tensor: no ZipMap). Splits are BRANCH_LEQ on the float32 thresholds the
 * trainer used, and `nodes_missing_value_tracks_true` carries each split's learned NaN direction.
 */
export function gbdtToOnnx(model: GbdtModel, metadata: ModelMetadataInput): Uint8Array {
  if (metadata.featureNames.length !== model.featureCount) {
    throw new ChurnError(ErrorCodes.VALIDATION, `${metadata.featureNames.length} feature names for a model of ${model.featureCount} features`)
  }
  const treeIds: number[] = []
  const nodeIds: number[] = []
  const featureIds: number[] = []
  const modes: string[] = []
  const thresholds: number[] = []
  const trueIds: number[] = []
  const falseIds: number[] = []
  const missingTracksTrue: number[] = []
  const classTreeIds: number[] = []
  const classNodeIds: number[] = []
  const classWeights: number[] = []

  // A runtime needs at least one tree: a model without trees becomes one leaf of value 0.
  const trees = model.trees.length > 0 ? model.trees : [undefined]
  trees.forEach((tree, treeId) => {
    const size = tree?.feature.length ?? 1
    for (let node = 0; node < size; node++) {
      const left = tree?.left[node] ?? -1
      const leaf = left < 0
      treeIds.push(treeId)
      nodeIds.push(node)
      featureIds.push(leaf ? 0 : (tree?.feature[node] ?? 0))
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ')
      thresholds.push(leaf ? 0 : (tree?.threshold[node] ?? 0))
      trueIds.push(leaf ? 0 : left)
      falseIds.push(leaf ? 0 : (tree?.right[node] ?? 0))
      missingTracksTrue.push(leaf ? 0 : (tree?.defaultLeft[node] ?? 0))
      if (leaf) {
        classTreeIds.push(treeId)
        classNodeIds.push(node)
        classWeights.push(tree?.value[node] ?? 0)
      }
    }
  })

  // onnxruntime decides the label by `score > 0.5` instead of `> 0` when no leaf value is negative. Moving a constant
  // from the base value into the first tree (every row reaches exactly one of its leaves) keeps the margin and avoids it.
  let baseValue = model.baseScore
  if (classWeights.every((weight) => weight >= 0)) {
    const firstTreeLeaves = classTreeIds.filter((treeId) => treeId === 0).length
    const shift = Math.max(...classWeights.slice(0, firstTreeLeaves)) + 1
    for (let k = 0; k < firstTreeLeaves; k++) classWeights[k] = Math.fround((classWeights[k] ?? 0) - shift)
    baseValue = Math.fround(baseValue + shift)
  }

  const node = {
    opType: 'TreeEnsembleClassifier',
    domain: 'ai.onnx.ml',
    name: 'gbdt',
    input: [ONNX_INPUT],
    output: [ONNX_LABEL, ONNX_PROBABILITIES],
    attribute: [
      attribute.ints('nodes_treeids', treeIds),
      attribute.ints('nodes_nodeids', nodeIds),
      attribute.ints('nodes_featureids', featureIds),
      attribute.strings('nodes_modes', modes),
      attribute.floats('nodes_values', thresholds),
      attribute.ints('nodes_truenodeids', trueIds),
      attribute.ints('nodes_falsenodeids', falseIds),
      attribute.ints('nodes_missing_value_tracks_true', missingTracksTrue),
      attribute.ints('class_treeids', classTreeIds),
      attribute.ints('class_nodeids', classNodeIds),
      attribute.ints('class_ids', classNodeIds.map(() => 0)),
      attribute.floats('class_weights', classWeights),
      attribute.ints('classlabels_int64s', [0, 1]),
      // One base value with class id 0 everywhere: onnxruntime's binary case, LOGISTIC gives [1 - p, p].
      attribute.floats('base_values', [baseValue]),
      attribute.string('post_transform', 'LOGISTIC'),
    ],
  }
  return encodeModel({
    name: 'churn_gbdt',
    docString: 'Gradient-boosted trees for churn (binary log-loss).',
    nodes: [node],
    inputs: [tensorValue(ONNX_INPUT, 'float', ['N', model.featureCount])],
    outputs: [tensorValue(ONNX_LABEL, 'int64', ['N']), tensorValue(ONNX_PROBABILITIES, 'float', ['N', 2])],
    metadata: buildMetadata('gbdt', metadata, { baseScore: model.baseScore, trees: model.toStructure() }),
  })
}
