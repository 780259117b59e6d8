/** How a feature is compared with its reference: PSI and KS (numeric) or PSI and chi-square (categorical). */
export type FeatureKind = 'numeric' | 'categorical'

/** One feature's training distribution, as the drift statistics read it (from `ReferenceDistribution`). */
export interface FeatureReference {
  readonly name: string
  /** Position of the feature in the feature vector. */
  readonly index: number
  readonly kind: FeatureKind
  /** Bin edges: value bin i holds edges[i-1] < v <= edges[i], the first unbounded below, the last above. */
  readonly edges: readonly number[]
  /** Share of the non-missing training values in each of the edges.length + 1 value bins. */
  readonly frequencies: readonly number[]
  readonly missingFraction: number
  /** Training rows behind the distribution (the chi-square test weighs the reference by it). */
  readonly count: number
}

/** What a window is compared with: the champion's training distributions and holdout performance. */
export interface DriftReference {
  readonly modelVersion: string
  readonly featureSetVersion: string
  /** Length of the feature vectors the model reads. */
  readonly featureCount: number
  readonly features: readonly FeatureReference[]
  /**
   * Score distribution on the `scoreBins` equal-width bins. Model metadata does not carry one yet: when absent, the first
   * window with at least `minScores` of this model's scores becomes the score baseline.
   */
  readonly scoreFrequencies?: readonly number[]
  readonly holdoutAuc?: number
  readonly holdoutCalibrationError?: number
}

/** Names of the statistics that can breach, as they appear in reports (`breaches`) and evidence (`statistic`). */
export type DriftStatistic = 'psi' | 'ks' | 'chi_square_p' | 'score_js' | 'auc_drop' | 'calibration_error_rise'

export interface Breach {
  readonly statistic: DriftStatistic
  /** The feature, for per-feature statistics. */
  readonly feature: string | null
  readonly value: number
  readonly threshold: number
}

export interface FeatureDrift {
  readonly feature: string
  readonly kind: FeatureKind
  /** Share of the window's vectors with no value for the feature. */
  readonly missingFraction: number
  readonly psi: number
  /** Numeric features only; null when the window has no value for the feature. */
  readonly ks: number | null
  /** Categorical features only. */
  readonly chiSquare: number | null
  readonly chiSquareP: number | null
  readonly drifted: boolean
}

/** Drift statistics of one closed window against the reference it was accumulated on. */
export interface WindowEvaluation {
  readonly kind: 'drift'
  readonly windowStart: number
  readonly windowEnd: number
  readonly modelVersion: string
  readonly featureSetVersion: string
  /** Feature vectors in the window. */
  readonly records: number
  /** Scores of `modelVersion` in the window. */
  readonly scores: number
  readonly features: readonly FeatureDrift[]
  /** Null without a score reference (or baseline) or without scores. */
  readonly scoreJs: number | null
  /** Whether the window had enough records (or scores) for any check: a window that cannot breach neither extends nor ends a streak. */
  readonly evaluable: boolean
  readonly breaches: readonly Breach[]
  /** Feature vectors and scores dropped as late that this window's report accounts for (`ClosedWindow.lateRecords`). @default 0 */
  readonly lateRecords?: number
}

/** Realised performance of the scores one model emitted in one window, once their label horizon has passed. */
export interface PerformanceEvaluation {
  readonly kind: 'performance'
  readonly windowStart: number
  readonly windowEnd: number
  /** Event time the cohort's labels became final: window end + label horizon. */
  readonly maturedAt: number
  readonly modelVersion: string
  readonly featureSetVersion: string
  /** Distinct customers scored in the window. */
  readonly scored: number
  /** Customers evaluated (the cohort sample). */
  readonly labelled: number
  readonly positives: number
  /** Null when a class is absent. */
  readonly rocAuc: number | null
  readonly calibrationError: number | null
  readonly holdoutAuc: number | null
  readonly holdoutCalibrationError: number | null
  readonly evaluable: boolean
  readonly breaches: readonly Breach[]
}

export type Evaluation = WindowEvaluation | PerformanceEvaluation

/** `FeatureDrift` of `schemas/avro/drift-report.avsc`. */
export interface FeatureDriftRecord {
  feature: string
  kind: FeatureKind
  psi: number
  ks: number | null
  chi_square_p: number | null
  drifted: boolean
}

/** `DriftReport` of `schemas/avro/drift-report.avsc` (topic churn.drift.reports). */
export interface DriftReportRecord {
  report_id: string
  /** `drift`: a window's statistics; `performance`: a cohort's realised performance. */
  kind: 'drift' | 'performance'
  window_start: number
  window_end: number
  model_version: string | null
  feature_set_version: string
  records: number
  labelled: number
  features: FeatureDriftRecord[]
  score_js: number | null
  realised_auc: number | null
  calibration_error: number | null
  breached: boolean
  breaches: string[]
  created_at: number
  /** Drift reports: late feature vectors and scores accounted to this window (`ClosedWindow.lateRecords`); 0 otherwise. */
  late_records: number
}

export type RetrainReason = 'drift' | 'performance' | 'schedule' | 'manual'

/** `Evidence` of `schemas/avro/retrain-request.avsc`. */
export interface EvidenceRecord {
  window_start: number
  window_end: number
  statistic: string
  feature: string | null
  value: number
  threshold: number
}

/** `RetrainRequest` of `schemas/avro/retrain-request.avsc` (topic churn.retrain.requests). */
export interface RetrainRequestRecord {
  request_id: string
  requested_at: number
  reason: RetrainReason
  model_version: string | null
  evidence: EvidenceRecord[]
  event_time: number
}
