import { describe, expect, it } from 'vitest'
import { evaluateGate } from '../../trainer/registry/gate.js'

describe('promotion gate', () => {
  it('lets the first model through on the floors alone', () => {
    expect(evaluateGate({ rocAuc: 0.8, calibrationError: 0.02 }, undefined)).toMatchObject({ pass: true })
  })

  it('names every floor a model misses', () => {
    const decision = evaluateGate({ rocAuc: 0.6, calibrationError: 0.2 }, undefined)
    expect(decision.pass).toBe(false)
    expect(decision.reasons).toEqual(['ROC-AUC 0.6000 is below the floor 0.65', 'calibration error 0.2000 is above the ceiling 0.1'])
  })

  it('asks a challenger to beat the champion on the same holdout by the margin', () => {
    expect(evaluateGate({ rocAuc: 0.803, calibrationError: 0.02 }, { rocAuc: 0.8, calibrationError: 0.02 }).reasons).toEqual(['ROC-AUC 0.8030 does not beat the champion\'s 0.8000 by 0.005'])
    expect(evaluateGate({ rocAuc: 0.806, calibrationError: 0.02 }, { rocAuc: 0.8, calibrationError: 0.02 }).pass).toBe(true)
    expect(evaluateGate({ rocAuc: 0.81, calibrationError: 0.02 }, { rocAuc: 0.8, calibrationError: 0.02 }, { minRocAuc: 0.5, maxCalibrationError: 0.1, minImprovement: 0.02 }).pass).toBe(false)
  })
})
