import { dayMs, type DriftOptions } from './options.js'
import type { HazardCoefficients, HazardInputs, ObservableState } from './types.js'

/** Daily cancellation logit before any concept drift; the README explains each term. */
export const baseCoefficients: Readonly<HazardCoefficients> = Object.freeze({
  intercept: -6.8,
  oneYear: -1.6,
  twoYear: -3,
  logTenure: -0.45,
  charge: 0.15,
  priceIncrease: 4,
  usageDecline: 2.5,
  failedPayments: 1.2,
  unresolvedTickets: 0.7,
  worstSeverity: 0.25,
  inactivity: 1.5,
})

/**
 * Where a `concept` drift of strength 1 moves the coefficients: failed payments barely matter any more,
 * tickets and usage decline matter much more; the lower intercept keeps the overall churn rate about the same.
 */
export const conceptDriftCoefficients: Readonly<HazardCoefficients> = Object.freeze({
  ...baseCoefficients,
  intercept: -7.8,
  failedPayments: 0.2,
  unresolvedTickets: 1.5,
  worstSeverity: 0.5,
  usageDecline: 4.5,
  inactivity: 2,
})

const daysPerMonth = 30.4375

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value
}

export function emptyHazardInputs(): HazardInputs {
  return { oneYear: 0, twoYear: 0, logTenure: 0, charge: 0, priceIncrease: 0, usageDecline: 0, failedPayments: 0, unresolvedTickets: 0, worstSeverity: 0, inactivity: 0 }
}

/** The hazard's inputs from observable aggregates; `into` is reused to keep the daily loop allocation-free. */
export function hazardInputs(state: ObservableState, into: HazardInputs = emptyHazardInputs()): HazardInputs {
  into.oneYear = state.contract === 'one_year' ? 1 : 0
  into.twoYear = state.contract === 'two_year' ? 1 : 0
  into.logTenure = Math.log1p(Math.max(0, state.tenureDays) / daysPerMonth)
  into.charge = (state.monthlyCharge - 70) / 10
  into.priceIncrease = state.minPayment90d === null || state.minPayment90d <= 0 ? 0 : clamp(state.monthlyCharge / state.minPayment90d - 1, 0, 0.5)
  into.usageDecline = state.usageMinutes90d > 0 ? clamp((0.7 - (3 * state.usageMinutes30d) / state.usageMinutes90d) / 0.7, 0, 1) : 0
  into.failedPayments = Math.min(state.failedPayments30d, 3)
  into.unresolvedTickets = clamp(state.ticketsOpened30d - state.ticketsResolved30d, 0, 3)
  into.worstSeverity = clamp(state.worstSeverity30d, 0, 4)
  into.inactivity = state.tenureDays >= 30 ? clamp(1 - state.activeDays30d / 30, 0, 1) : 0
  return into
}

/** The daily cancellation logit; without `behaviour` only contract, tenure and charge count (warm-up). */
export function hazardLogit(inputs: HazardInputs, coefficients: Readonly<HazardCoefficients>, behaviour = true): number {
  const c = coefficients
  let logit = c.intercept + c.oneYear * inputs.oneYear + c.twoYear * inputs.twoYear + c.logTenure * inputs.logTenure + c.charge * inputs.charge
  if (behaviour) {
    logit +=
      c.priceIncrease * inputs.priceIncrease +
      c.usageDecline * inputs.usageDecline +
      c.failedPayments * inputs.failedPayments +
      c.unresolvedTickets * inputs.unresolvedTickets +
      c.worstSeverity * inputs.worstSeverity +
      c.inactivity * inputs.inactivity
  }
  return logit
}

/** Daily cancellation probability: logistic of {@link hazardLogit}. */
export function dailyHazard(state: ObservableState, coefficients: Readonly<HazardCoefficients>, behaviour = true): number {
  return 1 / (1 + Math.exp(-hazardLogit(hazardInputs(state), coefficients, behaviour)))
}

function blend(from: Readonly<HazardCoefficients>, to: Readonly<HazardCoefficients>, weight: number): HazardCoefficients {
  const result = { ...from }
  for (const name of Object.keys(from) as (keyof HazardCoefficients)[]) result[name] = from[name] * (1 - weight) + to[name] * weight
  return result
}

interface Regime {
  from: number
  coefficients: Readonly<HazardCoefficients>
}

/**
 * The simulation's known hazard: coefficients in force at a time (concept drifts switch them at a day boundary)
 * and the warm-up gate. Pure: the same state and time give the same probability.
 */
export class KnownHazard {
  readonly start: number
  readonly behaviourFrom: number
  readonly #regimes: Regime[]
  readonly #inputs = emptyHazardInputs()

  constructor(start: number, warmupDays: number, drifts: readonly DriftOptions[]) {
    this.start = start
    this.behaviourFrom = start + warmupDays * dayMs
    this.#regimes = [{ from: Number.NEGATIVE_INFINITY, coefficients: baseCoefficients }]
    const concept = drifts
      .filter((drift) => drift.kind === 'concept')
      .map((drift) => ({ from: this.dayBoundaryAtOrAfter(drift.at), weight: Math.min(1, drift.strength) }))
      .sort((a, b) => a.from - b.from)
    for (const drift of concept) {
      const previous = this.#regimes[this.#regimes.length - 1]?.coefficients ?? baseCoefficients
      this.#regimes.push({ from: drift.from, coefficients: Object.freeze(blend(previous, conceptDriftCoefficients, drift.weight)) })
    }
  }

  /** Drifts act at the start of a simulated day: the first day boundary at or after `time`. */
  dayBoundaryAtOrAfter(time: number): number {
    return this.start + Math.max(0, Math.ceil((time - this.start) / dayMs)) * dayMs
  }

  coefficientsAt(time: number): Readonly<HazardCoefficients> {
    return this.#regimes[this.#regimeIndex(time)]?.coefficients ?? baseCoefficients
  }

  /** Whether the behavioural terms apply at `time` (after the warm-up). */
  behaviourAt(time: number): boolean {
    return time >= this.behaviourFrom
  }

  /** Probability of cancelling on the simulated day starting at `time`, given the state as of `time`. */
  hazard(state: ObservableState, time: number): number {
    return this.#hazardFrom(hazardInputs(state, this.#inputs), time)
  }

  /**
   * The oracle: probability of cancelling within `horizonDays` after `asOf` when the observable state stays as it
   * is at `asOf`: 1 - prod over days k < horizon of (1 - hazard(state, asOf + k days)). Coefficient changes
   * scheduled inside the horizon apply from their day on.
   */
  churnProbability(state: ObservableState, asOf: number, horizonDays: number): number {
    const inputs = hazardInputs(state, this.#inputs)
    let survival = 1
    let lastKey = -1
    let dailySurvival = 1
    for (let day = 0; day < horizonDays; day++) {
      const time = asOf + day * dayMs
      const key = this.#regimeIndex(time) * 2 + (this.behaviourAt(time) ? 1 : 0)
      if (key !== lastKey) {
        dailySurvival = 1 - this.#hazardFrom(inputs, time)
        lastKey = key
      }
      survival *= dailySurvival
    }
    return 1 - survival
  }

  /** @internal the simulator's daily loop passes inputs it filled itself. */
  hazardFromInputs(inputs: HazardInputs, time: number): number {
    return this.#hazardFrom(inputs, time)
  }

  #hazardFrom(inputs: HazardInputs, time: number): number {
    const logit = hazardLogit(inputs, this.coefficientsAt(time), this.behaviourAt(time))
    return 1 / (1 + Math.exp(-logit))
  }

  #regimeIndex(time: number): number {
    let index = 0
    while (index + 1 < this.#regimes.length && (this.#regimes[index + 1]?.from ?? Number.POSITIVE_INFINITY) <= time) index++
    return index
  }
}
