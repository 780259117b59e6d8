import { ChurnError, ErrorCodes } from '../core/errors.js'
import { churnFeatures, fields } from '../feature-store/declarations.js'
import type { FeatureDeclaration, Field } from '../feature-store/types.js'
import type { ModelMetadata, ReferenceDistribution } from '../trainer/onnx/metadata.js'
import type { DriftReference, FeatureKind, FeatureReference } from './types.js'

// Fields whose values are flags (0/1) or codes (contract months, severity rank): their numbers name categories.
const categoricalFields: readonly Field[] = [
  fields.paperless, fields.senior, fields.partner, fields.dependents, fields.contractMonths, fields.monthToMonth,
  fields.electronicCheck, fields.fiber, fields.severityRank,
]

/**
 * The features of a declared set that are categorical: those that carry a flag or code field's value through unchanged
 * (`last`, `first`, `max` of the field, or the worst open ticket by it). Counts, sums, ratios and durations are numeric,
 * even when small integers.
 */
export function categoricalFeatureNames(declarations: readonly FeatureDeclaration[]): string[] {
  return declarations
    .filter(({ aggregation }) => {
      switch (aggregation.kind) {
        case 'last':
        case 'first':
        case 'max':
        case 'open_tickets_max':
          return categoricalFields.includes(aggregation.field)
        default:
          return false
      }
    })
    .map(({ name }) => name)
}

/**
 * The features of a declared set that grow with each customer's age by construction: time since signup and lifetime
 * sums. Their distribution moves as the customer base ages, so against a reference it drifts steadily whatever the
 * customers do; their statistics are reported, but they do not breach by default.
 */
export function cumulativeFeatureNames(declarations: readonly FeatureDeclaration[]): string[] {
  return declarations
    .filter(({ aggregation }) => aggregation.kind === 'days_since_first' || ('window' in aggregation && aggregation.window === 'lifetime'))
    .map(({ name }) => name)
}

/** Cumulative features of the churn feature set (the `reportOnlyFeatures` default). */
export const CUMULATIVE_FEATURES: readonly string[] = cumulativeFeatureNames(churnFeatures)

/** Categorical features of the churn feature set (the `categoricalFeatures` default). */
export const CATEGORICAL_FEATURES: readonly string[] = categoricalFeatureNames(churnFeatures)

/**
 * A feature is categorical when it is listed, or when its reference has at most `categoricalMaxBins` value bins (a binary
 * flag of another feature set: the trainer gives features with few distinct values one bin per value); else numeric.
 */
export function featureKind(
  reference: Pick<ReferenceDistribution, 'feature' | 'edges'>,
  options: { readonly categoricalFeatures: readonly string[]; readonly categoricalMaxBins: number },
): FeatureKind {
  if (options.categoricalFeatures.includes(reference.feature)) return 'categorical'
  return reference.edges.length + 1 <= options.categoricalMaxBins ? 'categorical' : 'numeric'
}

function invalid(message: string): ChurnError {
  return new ChurnError(ErrorCodes.VALIDATION, `drift reference: ${message}`)
}

function checkDistribution(distribution: ReferenceDistribution): void {
  const { feature, edges, frequencies, missingFraction, count } = distribution
  if (frequencies.length !== edges.length + 1) throw invalid(`${feature}: ${frequencies.length} frequencies for ${edges.length} edges`)
  for (let i = 0; i < edges.length; i++) {
    const edge = edges[i] ?? Number.NaN
    if (!Number.isFinite(edge) || (i > 0 && edge <= (edges[i - 1] ?? Number.NaN))) throw invalid(`${feature}: edges must be finite and increasing`)
  }
  if (frequencies.some((frequency) => !(frequency >= 0))) throw invalid(`${feature}: frequencies must be >= 0`)
  if (!(missingFraction >= 0 && missingFraction <= 1)) throw invalid(`${feature}: missingFraction ${missingFraction} is not in [0, 1]`)
  if (!(count >= 0)) throw invalid(`${feature}: count ${count} is not a count`)
}

function finiteMetric(metrics: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = metrics[name]
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/**
 * The drift reference of a champion, from its metadata: one entry per feature with a reference distribution (in vector
 * order), the holdout ROC-AUC (`roc_auc`) and calibration error (`ece`) from its metrics.
 */
export function driftReference(
  modelVersion: string,
  metadata: Pick<ModelMetadata, 'featureNames' | 'featureSetVersion' | 'referenceDistributions' | 'metrics'>,
  options: { readonly categoricalFeatures: readonly string[]; readonly categoricalMaxBins: number },
): DriftReference {
  const byName = new Map(metadata.referenceDistributions.map((distribution) => [distribution.feature, distribution]))
  const features: FeatureReference[] = []
  metadata.featureNames.forEach((name, index) => {
    const distribution = byName.get(name)
    if (distribution === undefined) return
    checkDistribution(distribution)
    features.push({
      name,
      index,
      kind: featureKind(distribution, options),
      edges: [...distribution.edges],
      frequencies: [...distribution.frequencies],
      missingFraction: distribution.missingFraction,
      count: distribution.count,
    })
  })
  const holdoutAuc = finiteMetric(metadata.metrics, 'roc_auc')
  const holdoutCalibrationError = finiteMetric(metadata.metrics, 'ece')
  return {
    modelVersion,
    featureSetVersion: metadata.featureSetVersion,
    featureCount: metadata.featureNames.length,
    features,
    ...(holdoutAuc === undefined ? {} : { holdoutAuc }),
    ...(holdoutCalibrationError === undefined ? {} : { holdoutCalibrationError }),
  }
}
