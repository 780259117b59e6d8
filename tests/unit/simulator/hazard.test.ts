import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { contracts } from '../../../schemas/events.js'
import {
  KnownHazard,
  baseCoefficients,
  bayesOptimalAuc,
  dailyHazard,
  dayMs,
  rocAuc,
  type ObservableState,
  type ObservationPoint,
} from '../../../producers/simulator/index.js'
import { mean, monthlyChurn, runEvents, start } from './support.js'

const days = 180
const { events, simulator } = runEvents({ customers: 2_500, signupsPerDay: 2.5, seed: 21, groundTruth: { everyDays: 7 } }, days)
const observations = simulator.observations()

function labelRate(points: readonly ObservationPoint[]): number {
  return points.filter((point) => point.label).length / points.length
}

const stateArbitrary: fc.Arbitrary<ObservableState> = fc.record({
  contract: fc.constantFrom(...contracts),
  tenureDays: fc.double({ min: 0, max: 2_200, noNaN: true }),
  monthlyCharge: fc.double({ min: 20, max: 160, noNaN: true }),
  minPayment90d: fc.option(fc.double({ min: 20, max: 160, noNaN: true }), { nil: null }),
  usageMinutes30d: fc.double({ min: 0, max: 20_000, noNaN: true }),
  usageMinutes90d: fc.double({ min: 0, max: 60_000, noNaN: true }),
  activeDays30d: fc.integer({ min: 0, max: 30 }),
  failedPayments30d: fc.integer({ min: 0, max: 6 }),
  ticketsOpened30d: fc.integer({ min: 0, max: 8 }),
  ticketsResolved30d: fc.integer({ min: 0, max: 8 }),
  worstSeverity30d: fc.integer({ min: 0, max: 4 }),
})

const afterWarmup = start + 60 * dayMs

describe('the known hazard', () => {
  const known = new KnownHazard(start, 30, [])

  it('is a probability that rises with failed payments, unresolved tickets, severity and price, and falls with tenure', () => {
    fc.assert(
      fc.property(stateArbitrary, (state) => {
        const hazard = known.hazard(state, afterWarmup)
        expect(hazard).toBeGreaterThan(0)
        expect(hazard).toBeLessThan(1)
        const more = (change: Partial<ObservableState>): number => known.hazard({ ...state, ...change }, afterWarmup)
        expect(more({ failedPayments30d: state.failedPayments30d + 1 })).toBeGreaterThanOrEqual(hazard)
        expect(more({ ticketsOpened30d: state.ticketsOpened30d + 1 })).toBeGreaterThanOrEqual(hazard)
        expect(more({ worstSeverity30d: Math.min(4, state.worstSeverity30d + 1) })).toBeGreaterThanOrEqual(hazard)
        expect(more({ monthlyCharge: state.monthlyCharge * 1.2 })).toBeGreaterThan(hazard)
        // Inactivity counts from 30 days of tenure on, so compare tenures on the same side of that.
        if (state.tenureDays >= 30) expect(more({ tenureDays: state.tenureDays + 100 })).toBeLessThan(hazard)
        expect(more({ activeDays30d: Math.max(0, state.activeDays30d - 5) })).toBeGreaterThanOrEqual(hazard)
      }),
    )
  })

  it('ranks month-to-month above one-year above two-year contracts for the same behaviour', () => {
    fc.assert(
      fc.property(stateArbitrary, (state) => {
        const byContract = contracts.map((contract) => known.hazard({ ...state, contract }, afterWarmup))
        expect(byContract[0]).toBeGreaterThan(byContract[1] ?? 1)
        expect(byContract[1]).toBeGreaterThan(byContract[2] ?? 1)
      }),
    )
  })

  it('ignores behaviour during the warm-up, when 30-day windows are not yet full', () => {
    fc.assert(
      fc.property(stateArbitrary, (state) => {
        const early = start + 10 * dayMs
        expect(known.hazard({ ...state, failedPayments30d: 3, activeDays30d: 0 }, early)).toBe(known.hazard(state, early))
        expect(known.hazard(state, early)).toBeCloseTo(dailyHazard(state, baseCoefficients, false), 15)
      }),
    )
  })

  it('gives the oracle as 1 - (1 - h)^horizon with the state held, growing with the horizon', () => {
    fc.assert(
      fc.property(stateArbitrary, fc.integer({ min: 1, max: 120 }), (state, horizon) => {
        const hazard = known.hazard(state, afterWarmup)
        const probability = known.churnProbability(state, afterWarmup, horizon)
        expect(probability).toBeCloseTo(1 - (1 - hazard) ** horizon, 12)
        expect(known.churnProbability(state, afterWarmup, horizon + 1)).toBeGreaterThanOrEqual(probability)
      }),
    )
  })

  it('computes ROC-AUC with ties counted half', () => {
    expect(rocAuc([{ probability: 0.9, label: true }, { probability: 0.1, label: false }])).toBe(1)
    expect(rocAuc([{ probability: 0.1, label: true }, { probability: 0.9, label: false }])).toBe(0)
    expect(rocAuc([{ probability: 0.5, label: true }, { probability: 0.5, label: false }])).toBe(0.5)
    expect(rocAuc([{ probability: 0.2, label: true }, { probability: 0.3, label: false }, { probability: 0.6, label: true }, { probability: 0.3, label: false }])).toBe(0.5)
    expect(rocAuc([{ probability: 0.5, label: true }])).toBeNaN()
  })
})

describe('churn in a simulated business', () => {
  it('records ground truth every 7 days from the end of the warm-up, for active customers', () => {
    const asOfDays = [...new Set(observations.map((point) => (point.asOf - start) / dayMs))].sort((a, b) => a - b)
    expect(asOfDays[0]).toBe(30)
    expect(asOfDays.every((day) => (day - 30) % 7 === 0)).toBe(true)
    expect(Math.max(...asOfDays) + 30).toBeLessThanOrEqual(days)
    expect(observations.length).toBeGreaterThan(40_000)
    for (const point of observations.slice(0, 2_000)) {
      expect(point.cancelledAt === null || point.cancelledAt > point.asOf).toBe(true)
      expect(point.label).toBe(point.cancelledAt !== null && point.cancelledAt <= point.asOf + 30 * dayMs)
    }
  })

  it('loses 1.5-4% of customers a month overall, and month-to-month far more than two-year', () => {
    const overall = monthlyChurn(events, 30, days)
    expect(overall).toBeGreaterThan(0.015)
    expect(overall).toBeLessThan(0.04)
    const byContract = contracts.map((contract) => labelRate(observations.filter((point) => point.state.contract === contract)))
    expect(byContract[0]).toBeGreaterThan(0.03)
    expect(byContract[0]).toBeGreaterThan(2 * (byContract[1] ?? 1))
    expect(byContract[1]).toBeGreaterThan(2 * (byContract[2] ?? 1))
  })

  it('loses customers with failed payments or inactivity faster', () => {
    const failed = observations.filter((point) => point.state.failedPayments30d > 0)
    const clean = observations.filter((point) => point.state.failedPayments30d === 0)
    expect(failed.length).toBeGreaterThan(500)
    expect(labelRate(failed)).toBeGreaterThan(1.5 * labelRate(clean))
    const idle = observations.filter((point) => point.state.tenureDays > 30 && point.state.activeDays30d < 8)
    const busy = observations.filter((point) => point.state.tenureDays > 30 && point.state.activeDays30d > 22)
    expect(labelRate(idle)).toBeGreaterThan(2 * labelRate(busy))
  })

  it('has an oracle that is calibrated on average and a Bayes-optimal AUC between 0.75 and 0.95', () => {
    const rate = labelRate(observations)
    const predicted = mean(observations.map((point) => point.probability))
    expect(Math.abs(predicted - rate) / rate).toBeLessThan(0.2)
    const auc = bayesOptimalAuc(observations)
    expect(auc).toBeGreaterThan(0.75)
    expect(auc).toBeLessThan(0.95)
    // The top fifth of oracle probabilities holds most of the churners.
    const sorted = [...observations].sort((a, b) => b.probability - a.probability)
    const top = sorted.slice(0, Math.floor(sorted.length / 5))
    expect(top.filter((point) => point.label).length / observations.filter((point) => point.label).length).toBeGreaterThan(0.5)
  })

  it('answers the oracle for a live customer at the state time, from the same state the simulation uses', () => {
    const customer = events.find((event) => event.type === 'usage' && simulator.observe(event.customer_id) !== undefined)?.customer_id ?? ''
    const state = simulator.observe(customer)
    if (state === undefined) throw new Error(`no active customer with usage found`)
    const probability = simulator.churnProbability(customer, simulator.stateTime)
    expect(probability).toBeGreaterThan(0)
    expect(probability).toBe(simulator.churnProbability(state, simulator.stateTime, 30))
    expect(() => simulator.churnProbability(customer, simulator.stateTime - dayMs)).toThrow(/holds state as of/u)
    expect(() => simulator.churnProbability('nobody', simulator.stateTime)).toThrow(/unknown customer/u)
  })
})
