import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../core/config.js'
import { ChurnError } from '../../core/errors.js'
import { parseTrainerOptions, trainerOptionsFromConfig } from '../../consumers/trainer/index.js'

describe('trainer options', () => {
  it('has a default for every option, the training ones resolved with the pipeline defaults', () => {
    const options = parseTrainerOptions()
    expect(options).toMatchObject({ modelName: 'churn', cooldownMs: 600_000, horizonDays: 30, sampleEveryDays: 7, lookbackDays: 365, warmupDays: 30, maxAttempts: 3, thread: 'auto', fromBeginning: true })
    expect(options.groupId).toBeUndefined()
    expect(options.training).toMatchObject({ holdoutFraction: 0.2, gate: { minRocAuc: 0.65, maxCalibrationError: 0.1, minImprovement: 0.005 }, gbdt: { numTrees: 500, numLeaves: 15 } })
  })

  it('names each bad field and refuses unknown ones', () => {
    let caught: unknown
    try {
      parseTrainerOptions({ cooldownMs: -1, holdoutFraction: 1, gate: { minImprovement: -0.1 }, cooldown: 5 } as never)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ChurnError)
    const message = (caught as ChurnError).message
    for (const field of ['cooldownMs', 'holdoutFraction', 'gate.minImprovement', 'Unrecognized key: "cooldown"']) expect(message).toContain(field)
  })

  it('takes what an operator set in TRAINER_* variables and nothing else', () => {
    expect(trainerOptionsFromConfig(parseConfig({}))).toEqual({})
    const config = parseConfig({ TRAINER_COOLDOWN_MS: '0', TRAINER_HORIZON_DAYS: '14', TRAINER_GATE_MIN_ROC_AUC: '0.7' })
    expect(trainerOptionsFromConfig(config)).toEqual({ cooldownMs: 0, horizonDays: 14, gate: { minRocAuc: 0.7 } })
    expect(parseTrainerOptions(trainerOptionsFromConfig(config)).training.gate).toEqual({ minRocAuc: 0.7, maxCalibrationError: 0.1, minImprovement: 0.005 })
    const drift = parseConfig({ TRAINER_POST_DRIFT_DAYS: '56', TRAINER_DATA_WAIT_CHECK_MS: '1000', TRAINER_REFERENCE_DAYS: '14', TRAINER_THREAD: 'worker' })
    expect(parseTrainerOptions(trainerOptionsFromConfig(drift))).toMatchObject({ postDriftDays: 56, dataWaitCheckMs: 1_000, referenceDays: 14, thread: 'worker' })
    expect(parseTrainerOptions()).toMatchObject({ postDriftDays: 90, dataWaitCheckMs: 30_000, referenceDays: 28 })
    expect(() => parseConfig({ TRAINER_THREAD: 'gpu' })).toThrow(/TRAINER_THREAD/u)
  })
})
