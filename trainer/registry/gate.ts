/** What a challenger must show before it replaces the champion. */
export interface GatePolicy {
  /** Absolute floor on ROC-AUC over the holdout. @default 0.65 */
  minRocAuc: number
  /** Ceiling on expected calibration error over the holdout. @default 0.1 */
  maxCalibrationError: number
  /** ROC-AUC the challenger must add over the champion on the same holdout. @default 0.005 */
  minImprovement: number
}

export const defaultGatePolicy: GatePolicy = { minRocAuc: 0.65, maxCalibrationError: 0.1, minImprovement: 0.005 }

export interface HoldoutScores {
  rocAuc: number
  calibrationError: number
}

export interface GateDecision {
  pass: boolean
  /** Every rule the challenger failed, or why it passed. */
  reasons: string[]
}

/**
 * The promotion gate: floors first, then challenger-beats-champion on the same recent holdout.
 * With no champion, passing the floors is enough.
 */
export function evaluateGate(challenger: HoldoutScores, champion: HoldoutScores | undefined, policy: GatePolicy = defaultGatePolicy): GateDecision {
  const reasons: string[] = []
  if (!(challenger.rocAuc >= policy.minRocAuc)) reasons.push(`ROC-AUC ${challenger.rocAuc.toFixed(4)} is below the floor ${policy.minRocAuc}`)
  if (!(challenger.calibrationError <= policy.maxCalibrationError)) reasons.push(`calibration error ${challenger.calibrationError.toFixed(4)} is above the ceiling ${policy.maxCalibrationError}`)
  if (champion !== undefined && !(challenger.rocAuc >= champion.rocAuc + policy.minImprovement)) {
    reasons.push(`ROC-AUC ${challenger.rocAuc.toFixed(4)} does not beat the champion's ${champion.rocAuc.toFixed(4)} by ${policy.minImprovement}`)
  }
  if (reasons.length > 0) return { pass: false, reasons }
  return {
    pass: true,
    reasons: [champion === undefined ? `passes the floors with ROC-AUC ${challenger.rocAuc.toFixed(4)} and no champion to beat` : `ROC-AUC ${challenger.rocAuc.toFixed(4)} beats the champion's ${champion.rocAuc.toFixed(4)} by at least ${policy.minImprovement}`],
  }
}
