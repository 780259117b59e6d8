export { CustomerSimulator, createSimulator, simulateGroundTruth, type AdvanceOptions, type GroundTruthRun } from './simulator.js'
export {
  simulatorOptionsSchema,
  driftSchema,
  parseSimulatorOptions,
  dayMs,
  type SimulatorOptions,
  type SimulatorOptionsInput,
  type DriftOptions,
} from './options.js'
export { KnownHazard, baseCoefficients, conceptDriftCoefficients, dailyHazard, hazardInputs, hazardLogit } from './hazard.js'
export { bayesOptimalAuc, rocAuc } from './ground-truth.js'
export {
  driftKinds,
  type DriftKind,
  type HazardCoefficients,
  type HazardInputs,
  type ObservableState,
  type ObservationPoint,
  type ScoredLabel,
  type SimulatorStats,
} from './types.js'
