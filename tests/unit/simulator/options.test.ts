import { describe, expect, it } from 'vitest'
import { ChurnError } from '../../../core/errors.js'
import { createSimulator, parseSimulatorOptions } from '../../../producers/simulator/index.js'

describe('simulator options', () => {
  it('fills every default from nothing', () => {
    const options = parseSimulatorOptions()
    expect(options).toEqual({
      seed: 1,
      start: Date.UTC(2024, 0, 1),
      customers: 10_000,
      signupsPerDay: 10,
      horizonDays: 30,
      warmupDays: 30,
      customerIdPrefix: 'cust-',
      drift: [],
    })
  })

  it('accepts ISO and Date times and one drift or several', () => {
    const single = parseSimulatorOptions({ start: '2023-06-01T00:00:00Z', drift: { at: new Date('2023-09-01T00:00:00Z'), kind: 'price_rise' } })
    expect(single.start).toBe(Date.UTC(2023, 5, 1))
    expect(single.drift).toEqual([{ at: Date.UTC(2023, 8, 1), kind: 'price_rise', strength: 1, share: 0.5 }])
    const several = parseSimulatorOptions({ drift: [{ at: Date.UTC(2024, 2, 1), kind: 'concept', strength: 0.5 }, { at: Date.UTC(2024, 3, 1), kind: 'usage_drop', share: 0.2 }] })
    expect(several.drift.map((drift) => drift.kind)).toEqual(['concept', 'usage_drop'])
  })

  it('names each bad field and what was expected', () => {
    let caught: unknown
    try {
      parseSimulatorOptions({ customers: -1, drift: { at: Date.UTC(2023, 0, 1), kind: 'price_rise' }, customerIdPrefix: '-x' })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ChurnError)
    const error = caught as ChurnError
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.canRetry).toBe(false)
    expect(error.message).toMatch(/customers: /u)
    expect(error.message).toMatch(/customerIdPrefix: /u)
    expect(error.message).toMatch(/drift\.0\.at: expected a time at or after start/u)
  })

  it('rejects unknown options, unknown drift kinds and starts too early for 72-month tenures', () => {
    expect(() => parseSimulatorOptions({ customer: 5 } as never)).toThrow(/Unrecognized key/u)
    expect(() => parseSimulatorOptions({ drift: { at: Date.UTC(2024, 5, 1), kind: 'seasonal' } } as never)).toThrow(/drift/u)
    expect(() => parseSimulatorOptions({ start: Date.UTC(2004, 0, 1) })).toThrow(/start: expected a start at least 72 months after 2000-01-01/u)
  })

  it('refuses a clock target that is not a finite time', () => {
    const simulator = createSimulator({ customers: 1, signupsPerDay: 0 })
    expect(() => simulator.advanceTo(Number.NaN)).toThrow(ChurnError)
    expect(() => simulator.advanceTo(simulator.options.start, { maxEvents: 0 })).toThrow(/maxEvents/u)
  })
})
