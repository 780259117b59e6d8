import { invalidArgument } from './status.js'
import type { FeatureVectorMessage } from './types.js'

/** The feature set the gateway serves: its version and feature names in vector order. */
export interface ServedFeatures {
  readonly version: string
  readonly names: readonly string[]
}

function checkValue(value: number, field: string, feature: string): void {
  // NaN is the missing-value marker the models are trained with; only infinities are refused.
  if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
    throw invalidArgument(field, `feature ${feature}: expected a finite number (NaN for a missing value), got ${value}`)
  }
}

/**
 * The vector a request gives, in feature-set order; throws INVALID_ARGUMENT naming the offending
 * field (`field` is where the vector sits in the request, e.g. `rows[3].features`).
 */
export function vectorFromMessage(message: FeatureVectorMessage | null | undefined, field: string, served: ServedFeatures): Float64Array {
  if (message === null || message === undefined) throw invalidArgument(field, 'required: give the features by name (`named`) or in feature-set order (`values`)')
  if (message.feature_set_version !== '' && message.feature_set_version !== served.version) {
    throw invalidArgument(`${field}.feature_set_version`, `this gateway serves feature set ${served.version}, got ${message.feature_set_version}`)
  }
  const named = Object.entries(message.named)
  if (named.length > 0 && message.values.length > 0) throw invalidArgument(field, 'give either `named` or `values`, not both')
  if (named.length === 0 && message.values.length === 0) throw invalidArgument(field, 'required: give the features by name (`named`) or in feature-set order (`values`)')
  const cols = served.names.length
  if (message.values.length > 0) {
    if (message.values.length !== cols) {
      throw invalidArgument(`${field}.values`, `expected ${cols} values in the order of feature set ${served.version}, got ${message.values.length}`)
    }
    message.values.forEach((value, j) => { checkValue(value, `${field}.values[${j}]`, served.names[j] ?? `#${j}`) })
    return Float64Array.from(message.values)
  }
  const out = new Float64Array(cols).fill(Number.NaN)
  const index = new Map(served.names.map((name, j) => [name, j]))
  for (const [name, value] of named) {
    const j = index.get(name)
    const path = `${field}.named[${JSON.stringify(name)}]`
    if (j === undefined) throw invalidArgument(path, `not a feature of feature set ${served.version}`)
    checkValue(value, path, name)
    out[j] = value
  }
  return out
}
