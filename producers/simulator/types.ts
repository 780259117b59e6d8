import type { Contract, EventType } from '../../schemas/events.js'

export const driftKinds = ['price_rise', 'usage_drop', 'concept'] as const
export type DriftKind = (typeof driftKinds)[number]

/**
 * What a feature store knows about a customer at an as-of time: aggregates of the customer's events with
 * event time <= as-of. The known hazard is a function of these and the time only.
 */
export interface ObservableState {
  /** Contract of the latest signup or plan_change. */
  contract: Contract
  /** Days from the signup event to as-of. */
  tenureDays: number
  /** monthly_charge of the latest signup or plan_change. */
  monthlyCharge: number
  /** Smallest payment amount (any status) in the last 90 days; null without payments. */
  minPayment90d: number | null
  /** Sum of usage minutes in the last 30 days. */
  usageMinutes30d: number
  /** Sum of usage minutes in the last 90 days. */
  usageMinutes90d: number
  /** Usage events (at most one a day) in the last 30 days. */
  activeDays30d: number
  /** Payments with status `failed` in the last 30 days. */
  failedPayments30d: number
  /** support_ticket events with resolved=false in the last 30 days (tickets opened). */
  ticketsOpened30d: number
  /** support_ticket events with resolved=true in the last 30 days. */
  ticketsResolved30d: number
  /** Worst severity among tickets opened in the last 30 days: 0 none, 1 low, 2 medium, 3 high, 4 critical. */
  worstSeverity30d: number
}

/** The hazard's inputs, derived from an {@link ObservableState}; see the README for each definition. */
export interface HazardInputs {
  oneYear: number
  twoYear: number
  logTenure: number
  charge: number
  priceIncrease: number
  usageDecline: number
  failedPayments: number
  unresolvedTickets: number
  worstSeverity: number
  inactivity: number
}

/** Coefficients of the daily cancellation logit, one per input plus the intercept. */
export type HazardCoefficients = { intercept: number } & { [K in keyof HazardInputs]: number }

/** One ground-truth row: a customer at an as-of time, its oracle probability and what happened. */
export interface ObservationPoint {
  customerId: string
  /** Milliseconds since the epoch; a simulated day boundary. */
  asOf: number
  horizonDays: number
  /** Oracle probability of cancelling in (asOf, asOf + horizon] under the known hazard, state held. */
  probability: number
  /** Whether the customer cancelled in (asOf, asOf + horizon]. */
  label: boolean
  cancelledAt: number | null
  state: ObservableState
}

export interface ScoredLabel {
  probability: number
  label: boolean
}

export interface SimulatorStats {
  /** Every event with event_time <= clock has been returned. */
  clock: number
  /** The simulated state covers all events before this day boundary. */
  stateTime: number
  customersEver: number
  activeCustomers: number
  cancelledCustomers: number
  /** Events generated so far, returned or not: the simulator generates whole days ahead of the clock. */
  eventsGenerated: number
  eventsByType: Record<EventType, number>
}
