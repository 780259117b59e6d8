import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { LogisticModel } from '../logistic/logistic.js'
import { buildMetadata, type ModelMetadataInput } from './metadata.js'
import { attribute, encodeModel, tensorValue } from './proto.js'
import { ONNX_INPUT, ONNX_LABEL, ONNX_PROBABILITIES } from './types.js'

/**
 * The logistic baseline as Imputer (NaN -> training mean) -> Scaler (standardise) -> LinearClassifier, the same
 * arithmetic the trainer does. The classifier has one coefficient row per class (negated for class 0), so LOGISTIC
 * gives [1 - p, p] with no special binary case in the runtime.
 */
export function logisticToOnnx(model: LogisticModel, metadata: ModelMetadataInput): Uint8Array {
  const width = model.featureCount
  if (metadata.featureNames.length !== width) {
    throw new ChurnError(ErrorCodes.VALIDATION, `${metadata.featureNames.length} feature names for a model of ${width} features`)
  }
  const coefficients = Array.from(model.coefficients)
  const nodes = [
    {
      opType: 'Imputer',
      domain: 'ai.onnx.ml',
      name: 'impute_mean',
      input: [ONNX_INPUT],
      output: ['imputed'],
      attribute: [attribute.floats('imputed_value_floats', model.means), attribute.float('replaced_value_float', Number.NaN)],
    },
    {
      opType: 'Scaler',
      domain: 'ai.onnx.ml',
      name: 'standardise',
      input: ['imputed'],
      output: ['standardised'],
      attribute: [attribute.floats('offset', model.means), attribute.floats('scale', model.scales)],
    },
    {
      opType: 'LinearClassifier',
      domain: 'ai.onnx.ml',
      name: 'logistic',
      input: ['standardised'],
      output: [ONNX_LABEL, ONNX_PROBABILITIES],
      attribute: [
        attribute.floats('coefficients', [...coefficients.map((c) => -c), ...coefficients]),
        attribute.floats('intercepts', [-model.intercept, model.intercept]),
        attribute.ints('classlabels_ints', [0, 1]),
        attribute.int('multi_class', 0),
        attribute.string('post_transform', 'LOGISTIC'),
      ],
    },
  ]
  return encodeModel({
    name: 'churn_logistic',
    docString: 'Logistic-regression churn baseline (standardised features, L2).',
    nodes,
    inputs: [tensorValue(ONNX_INPUT, 'float', ['N', width])],
    outputs: [tensorValue(ONNX_LABEL, 'int64', ['N']), tensorValue(ONNX_PROBABILITIES, 'float', ['N', 2])],
    metadata: buildMetadata('logistic', metadata, { baseScore: model.intercept, logistic: model.toStructure() }),
  })
}
