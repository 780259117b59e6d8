import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import { takeDataset, takeValues } from '../dataset/matrix.js'
import type { BinaryDataset, Matrix } from '../dataset/types.js'
import { evaluateBinary } from '../evaluation/metrics.js'
import { timeHoldoutSplit } from '../evaluation/splits.js'
import { trainGbdt } from '../gbdt/train.js'
import { LogisticModel, trainLogistic } from '../logistic/logistic.js'
import { gbdtFromMetadata, readOnnxMetadata } from '../onnx/runtime.js'
import { evaluateGate, type GateDecision } from '../registry/gate.js'
import type { TrainingOptions } from './options.js'
import { prepareRegistration, snakeCaseMetrics, type TrainedModel } from './registration.js'
import type { CandidateReport, ChampionArtifact, ChampionEvaluation, HoldoutScore, TrainedCandidate, TrainingData } from './types.js'

const DAY_MS = 86_400_000

/** `details.kind` of the error `trainCandidates` throws when the rows cannot support a model: retrying the same data cannot help. */
export const INSUFFICIENT_DATA = 'INSUFFICIENT_DATA'

/** Whether an error (from this thread or the worker) says the training data was too thin to train on. */
export function isInsufficientData(error: unknown): boolean {
  return error instanceof ChurnError && error.details['kind'] === INSUFFICIENT_DATA
}

function holdoutMetrics(labels: Float64Array, probability: ArrayLike<number>): { score: HoldoutScore; metrics: Record<string, number> } {
  const report = evaluateBinary(labels, probability)
  return {
    score: { rocAuc: report.rocAuc, calibrationError: report.ece },
    metrics: snakeCaseMetrics({
      rocAuc: report.rocAuc,
      prAuc: report.prAuc,
      logLoss: report.logLoss,
      brier: report.brier,
      ece: report.ece,
      liftTopDecile: report.liftTopDecile,
      maxF1: report.bestF1.f1,
      holdoutRows: report.rows,
      holdoutPositiveRate: report.positiveRate,
    }),
  }
}

function positives(labels: ArrayLike<number>): number {
  let count = 0
  for (const label of Array.from(labels)) if (label === 1) count++
  return count
}

/** The champion's probabilities on the holdout, from the model its artifact describes (the trees or coefficients the ONNX graph holds). */
function scoreChampion(champion: ChampionArtifact, data: TrainingData, holdout: Matrix): { probability: Float64Array } | { why: string } {
  let metadata
  try {
    metadata = readOnnxMetadata(champion.artifact)
  } catch (error) {
    return { why: `its artifact cannot be read (${errorMessage(error)})` }
  }
  const sameFeatures = metadata.featureNames.length === data.featureNames.length && metadata.featureNames.every((name, i) => name === data.featureNames[i])
  if (metadata.featureSetVersion !== data.featureSetVersion || !sameFeatures) {
    return { why: `it was trained on feature set ${metadata.featureSetVersion}, not ${data.featureSetVersion}` }
  }
  if (metadata.trees !== undefined) return { probability: gbdtFromMetadata(metadata).predictProbability(holdout) }
  if (metadata.logistic !== undefined) return { probability: new LogisticModel(metadata.logistic).predictProbability(holdout) }
  return { why: `its ${metadata.modelType} artifact holds no model structure` }
}

type Fitted = TrainedModel & { readonly params: Readonly<Record<string, unknown>>; readonly extra: Readonly<Record<string, number>> }

interface FitContext {
  readonly data: TrainingData
  readonly train: BinaryDataset
  readonly holdout: BinaryDataset
  readonly holdoutLabels: Float64Array
  readonly trainingWindow: { readonly from: number; readonly to: number }
  readonly trainRows: number
}

/** Fits one model, scores it on the holdout and exports it with its lineage. */
function fit(trained: () => Fitted, context: FitContext): TrainedCandidate {
  const started = performance.now()
  const model = trained()
  const fitSeconds = (performance.now() - started) / 1000
  const { score, metrics } = holdoutMetrics(context.holdoutLabels, model.model.predictProbability(context.holdout.x))
  const registration = prepareRegistration(model, {
    featureNames: context.data.featureNames,
    featureSetVersion: context.data.featureSetVersion,
    training: context.train,
    ...(context.data.reference === undefined ? {} : { reference: context.data.reference }),
    params: model.params,
    // Nothing timing-dependent: the same data, parameters and code give the same artifact, byte for byte.
    metrics: { ...metrics, train_rows: context.trainRows, ...model.extra },
    trainingWindow: context.trainingWindow,
  })
  return { registration, holdout: score, fitSeconds }
}

/**
 * Trains the GBDT challenger and the logistic baseline on all but the most recent slice of the rows, scores both and
 * the champion (if any) on that slice, and applies the promotion gate to the challenger. Training rows whose label
 * horizon reaches into the holdout are purged, so the models know nothing the holdout's period revealed.
 *
 * Pure and synchronous (CPU-bound): run it on a worker thread in a process that must stay responsive.
 */
export function trainCandidates(data: TrainingData, options: TrainingOptions, champion?: ChampionArtifact): CandidateReport {
  const rows = data.x.rows
  if (data.y.length !== rows || data.asOf.length !== rows || data.x.cols !== data.featureNames.length) {
    throw new ChurnError(ErrorCodes.VALIDATION, `training data: ${rows} rows, ${data.y.length} labels, ${data.asOf.length} as-of times, ${data.x.cols} columns for ${data.featureNames.length} features`)
  }
  if (rows < 2) throw new ChurnError(ErrorCodes.VALIDATION, `training data: ${rows} rows, too few to hold any out`)
  const split = timeHoldoutSplit(data.asOf, options.holdoutFraction)
  const horizonMs = data.horizonDays * DAY_MS
  const trainIndex = split.train.filter((row) => (data.asOf[row] ?? Number.POSITIVE_INFINITY) + horizonMs <= split.cutoff)
  const dataset = { x: data.x, y: data.y }
  const train = takeDataset(dataset, trainIndex)
  const holdout = takeDataset(dataset, split.holdout)
  const holdoutLabels = takeValues(data.y, split.holdout)
  const summary = {
    cutoff: split.cutoff,
    trainRows: trainIndex.length,
    trainPositives: positives(train.y),
    holdoutRows: split.holdout.length,
    holdoutPositives: positives(holdoutLabels),
    purgedRows: split.train.length - trainIndex.length,
  }
  const problems: string[] = []
  if (summary.trainRows < options.minTrainingRows) problems.push(`${summary.trainRows} training rows (at least ${options.minTrainingRows} needed)`)
  if (summary.trainPositives < options.minPositives || summary.trainRows - summary.trainPositives < options.minPositives) {
    problems.push(`${summary.trainPositives} positive of ${summary.trainRows} training rows (at least ${options.minPositives} of each class needed)`)
  }
  if (summary.holdoutPositives < options.minPositives || summary.holdoutRows - summary.holdoutPositives < options.minPositives) {
    problems.push(`${summary.holdoutPositives} positive of ${summary.holdoutRows} holdout rows (at least ${options.minPositives} of each class needed)`)
  }
  if (problems.length > 0) throw new ChurnError(ErrorCodes.VALIDATION, `not enough training data: ${problems.join('; ')}`, { details: { kind: INSUFFICIENT_DATA, split: summary } })

  let from = Number.POSITIVE_INFINITY
  let to = Number.NEGATIVE_INFINITY
  for (const row of trainIndex) {
    const asOf = data.asOf[row] ?? 0
    from = Math.min(from, asOf)
    to = Math.max(to, asOf + horizonMs)
  }
  const context = { data, train, holdout, holdoutLabels, trainingWindow: { from, to }, trainRows: summary.trainRows }
  const challenger = fit((): Fitted => {
    const result = trainGbdt(train, options.gbdt)
    return { modelType: 'gbdt', model: result.model, params: { ...result.options }, extra: { trees: result.treeCount } }
  }, context)
  const baseline = fit((): Fitted => {
    const result = trainLogistic(train, options.logistic)
    return { modelType: 'logistic', model: result.model, params: { ...result.options }, extra: { iterations: result.iterations } }
  }, context)

  let evaluation: ChampionEvaluation | undefined
  if (champion !== undefined) {
    const scored = scoreChampion(champion, data, holdout.x)
    evaluation = 'why' in scored
      ? { version: champion.version, comparable: false, why: scored.why }
      : { version: champion.version, comparable: true, holdout: holdoutMetrics(holdoutLabels, scored.probability).score }
  }
  return { split: summary, challenger, baseline, ...(evaluation === undefined ? {} : { champion: evaluation }), gate: gate(challenger.holdout, evaluation, options) }
}

function gate(challenger: HoldoutScore, champion: ChampionEvaluation | undefined, options: TrainingOptions): GateDecision {
  const decision = evaluateGate(challenger, champion?.comparable === true ? champion.holdout : undefined, options.gate)
  if (champion === undefined || champion.comparable) return decision
  // A champion the holdout cannot score cannot be beaten on it either: only the floors apply, and the reasons say so.
  return { pass: decision.pass, reasons: [`champion ${champion.version} cannot be scored on this holdout (${champion.why}); only the floors apply`, ...decision.reasons] }
}
