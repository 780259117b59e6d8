import type { Matrix } from '../dataset/types.js'
import type { GateDecision } from '../registry/gate.js'
import type { RegisterRequest } from '../registry/registry.js'

/** Rows to train and evaluate on, in the feature set's order, with the as-of time of each row. */
export interface TrainingData {
  readonly featureNames: readonly string[]
  readonly featureSetVersion: string
  readonly x: Matrix
  readonly y: Uint8Array
  /** As-of time (ms) of each row; the holdout is the most recent slice of them. */
  readonly asOf: Float64Array
  /** The label is "cancelled within this many days after the as-of time". */
  readonly horizonDays: number
  /**
   * Feature vectors as the stream emitted them over the data's last weeks: the reference distributions drift
   * monitoring compares live vectors with. Absent, the training rows serve (sampled differently from the stream).
   */
  readonly reference?: Matrix
}

/** The registry's current champion: its version and ONNX bytes. */
export interface ChampionArtifact {
  readonly version: string
  readonly artifact: Uint8Array
}

/** A model ready for `ModelRegistry.register`: everything but who registers it and why. */
export type ModelRegistration = Omit<RegisterRequest, 'actor' | 'reason'>

/** What the gate reads of a model scored on the holdout. */
export interface HoldoutScore {
  readonly rocAuc: number
  readonly calibrationError: number
}

export interface TrainedCandidate {
  readonly registration: ModelRegistration
  readonly holdout: HoldoutScore
  readonly fitSeconds: number
}

/** The champion scored on the challenger's holdout, or why it could not be. */
export type ChampionEvaluation =
  | { readonly version: string; readonly comparable: true; readonly holdout: HoldoutScore }
  | { readonly version: string; readonly comparable: false; readonly why: string }

export interface HoldoutSplitSummary {
  /** Rows at or after this as-of time are the holdout. */
  readonly cutoff: number
  readonly trainRows: number
  readonly trainPositives: number
  readonly holdoutRows: number
  readonly holdoutPositives: number
  /** Rows before the cut-off whose label horizon reaches past it: in neither side, so no label leaks into training. */
  readonly purgedRows: number
}

/** The outcome of training: a GBDT challenger and a logistic baseline scored on the same holdout as the champion. */
export interface CandidateReport {
  readonly split: HoldoutSplitSummary
  readonly challenger: TrainedCandidate
  readonly baseline: TrainedCandidate
  readonly champion?: ChampionEvaluation
  readonly gate: GateDecision
}
