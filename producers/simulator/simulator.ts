import { ChurnError, ErrorCodes } from '../../core/errors.js'
import {
  cancellationReasons,
  channels,
  contracts,
  eventTypes,
  paymentMethods,
  plans,
  severities,
  ticketCategories,
  type CustomerEvent,
  type EventType,
} from '../../schemas/events.js'
import { Bits, extraBits, extraChance, internetBits, internetChance, megabytesPerMinute, monthlyCharge, regions, serviceList } from './business.js'
import { emptyHazardInputs, hazardInputs, KnownHazard } from './hazard.js'
import { dayMs, maxInitialTenureDays, parseSimulatorOptions, type DriftOptions, type SimulatorOptions, type SimulatorOptionsInput } from './options.js'
import { cumulative, hashUniform, pickCumulative, poisson, streamFor, Streams, uniform, uuidFrom, type RandomGenerator } from './random.js'
import type { HazardCoefficients, HazardInputs, ObservableState, ObservationPoint, SimulatorStats } from './types.js'

const paymentRing = 16
const ticketRing = 16
const usageRing = 90
const cycleDays = 30
const window7 = 7 * dayMs
const window30 = 30 * dayMs
const window90 = 90 * dayMs
const maxPaymentRetries = 2

const planWeights = cumulative([0.35, 0.4, 0.25])
const contractWeightsNew = cumulative([0.55, 0.21, 0.24])
const methodWeights = cumulative([0.34, 0.23, 0.22, 0.21])
const channelWeights = cumulative([0.5, 0.2, 0.2, 0.1])
const severityWeights = cumulative([0.4, 0.33, 0.19, 0.08])
/** Mean days to resolve by severity (low .. critical); critical tickets are worked first. */
const resolutionDays = [4, 3, 2, 1] as const
/** Chance a payment fails, by method (electronic_check, mailed_check, bank_transfer, credit_card), for a fully engaged customer. */
const failureBase = [0.05, 0.025, 0.01, 0.015] as const
/** Daily chances that engagement starts to decline, and that a decline ends (mean length 100 days). */
const declineOnset = 0.0015
const declineRecovery = 0.01
const ticketCategoryIndex = { billing: 0, technical: 1, account: 2, cancellationRequest: 3, other: 4 } as const
const reasonIndex = Object.fromEntries(cancellationReasons.map((reason, index) => [reason, index])) as Record<(typeof cancellationReasons)[number], number>

interface Scheduled {
  day: number
  /** A payment retry (attempt > 0) or a ticket resolution (attempt = 0). */
  attempt: number
  ticket: number
  category: number
  severity: number
}

export interface AdvanceOptions {
  /** Return at most about this many events (more only when several share the last event time); the clock stops at the last one. */
  maxEvents?: number
}

/** Per-customer state as columns: the daily loop touches every active customer, so no objects per customer-day. */
class CustomerTable {
  capacity = 0
  size = 0
  ids: string[] = []
  rngs: RandomGenerator[] = []
  pending: (Scheduled[] | undefined)[] = []
  signupTime: Float64Array = new Float64Array(0)
  firstDay: Int32Array = new Int32Array(0)
  cancelTime: Float64Array = new Float64Array(0)
  active: Uint8Array = new Uint8Array(0)
  contract: Uint8Array = new Uint8Array(0)
  plan: Uint8Array = new Uint8Array(0)
  services: Uint16Array = new Uint16Array(0)
  method: Uint8Array = new Uint8Array(0)
  priceFactor: Float64Array = new Float64Array(0)
  charge: Float64Array = new Float64Array(0)
  billingOffset: Uint8Array = new Uint8Array(0)
  baseline: Float64Array = new Float64Array(0)
  target: Float64Array = new Float64Array(0)
  engagement: Float64Array = new Float64Array(0)
  pendingRise: Float64Array = new Float64Array(0)
  lastFailure: Float64Array = new Float64Array(0)
  lastRise: Float64Array = new Float64Array(0)
  ticketCount: Int32Array = new Int32Array(0)
  /** Daily usage minutes in tenths (exact integers), 90 days per customer, with running window sums. */
  usageTenths: Uint16Array = new Uint16Array(0)
  usageSum30: Int32Array = new Int32Array(0)
  usageSum90: Int32Array = new Int32Array(0)
  activeDays30: Int32Array = new Int32Array(0)
  paymentTime: Float64Array = new Float64Array(0)
  paymentAmount: Float64Array = new Float64Array(0)
  paymentFailed: Uint8Array = new Uint8Array(0)
  paymentNext: Uint8Array = new Uint8Array(0)
  ticketTime: Float64Array = new Float64Array(0)
  ticketSeverity: Int8Array = new Int8Array(0)
  ticketNext: Uint8Array = new Uint8Array(0)

  rng(index: number): RandomGenerator {
    const rng = this.rngs[index]
    if (rng === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `no customer at index ${index}`)
    return rng
  }

  ensure(count: number): void {
    if (count <= this.capacity) return
    const capacity = Math.max(count, Math.ceil(this.capacity * 1.5), 1_024)
    const f64 = (old: Float64Array, width = 1): Float64Array => {
      const next = new Float64Array(capacity * width)
      next.set(old)
      return next
    }
    const u8 = (old: Uint8Array, width = 1): Uint8Array => {
      const next = new Uint8Array(capacity * width)
      next.set(old)
      return next
    }
    const i32 = (old: Int32Array): Int32Array => {
      const next = new Int32Array(capacity)
      next.set(old)
      return next
    }
    this.signupTime = f64(this.signupTime)
    this.firstDay = i32(this.firstDay)
    this.cancelTime = f64(this.cancelTime)
    this.active = u8(this.active)
    this.contract = u8(this.contract)
    this.plan = u8(this.plan)
    const services = new Uint16Array(capacity)
    services.set(this.services)
    this.services = services
    this.method = u8(this.method)
    this.priceFactor = f64(this.priceFactor)
    this.charge = f64(this.charge)
    this.billingOffset = u8(this.billingOffset)
    this.baseline = f64(this.baseline)
    this.target = f64(this.target)
    this.engagement = f64(this.engagement)
    this.pendingRise = f64(this.pendingRise)
    this.lastFailure = f64(this.lastFailure)
    this.lastRise = f64(this.lastRise)
    this.ticketCount = i32(this.ticketCount)
    const usage = new Uint16Array(capacity * usageRing)
    usage.set(this.usageTenths)
    this.usageTenths = usage
    this.usageSum30 = i32(this.usageSum30)
    this.usageSum90 = i32(this.usageSum90)
    this.activeDays30 = i32(this.activeDays30)
    this.paymentTime = f64(this.paymentTime, paymentRing)
    this.paymentAmount = f64(this.paymentAmount, paymentRing)
    this.paymentFailed = u8(this.paymentFailed, paymentRing)
    this.paymentNext = u8(this.paymentNext)
    this.ticketTime = f64(this.ticketTime, ticketRing)
    const severity = new Int8Array(capacity * ticketRing)
    severity.set(this.ticketSeverity)
    this.ticketSeverity = severity
    this.ticketNext = u8(this.ticketNext)
    this.capacity = capacity
  }
}

function emptyState(): ObservableState {
  return {
    contract: 'month_to_month',
    tenureDays: 0,
    monthlyCharge: 0,
    minPayment90d: null,
    usageMinutes30d: 0,
    usageMinutes90d: 0,
    activeDays30d: 0,
    failedPayments30d: 0,
    ticketsOpened30d: 0,
    ticketsResolved30d: 0,
    worstSeverity30d: 0,
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

/** A declining customer's engagement settles at 5-40% of its usual level. */
function declineDepth(rng: RandomGenerator): number {
  return 0.05 + 0.35 * uniform(rng)
}

/** Milliseconds into a day, strictly inside it: an event of day d is after d's boundary and before d+1's. */
function offsetInDay(rng: RandomGenerator): number {
  return 1 + Math.floor(uniform(rng) * (dayMs - 1))
}

/**
 * A deterministic simulation of a subscription business. Advance its clock with {@link advanceTo} (or iterate
 * {@link events}); events come in event-time order. Pure: no wall clock, no I/O.
 */
export class CustomerSimulator {
  readonly options: SimulatorOptions
  readonly knownHazard: KnownHazard
  readonly #table = new CustomerTable()
  readonly #arrivals: RandomGenerator
  readonly #driftDays: { day: number; drift: DriftOptions; index: number }[]
  readonly #state = emptyState()
  readonly #inputs: HazardInputs = emptyHazardInputs()
  readonly #counts = Object.fromEntries(eventTypes.map((type) => [type, 0])) as Record<EventType, number>
  readonly #observations: { index: number; asOf: number; probability: number; state: ObservableState }[] = []
  #active = new Int32Array(0)
  #activeCount = 0
  #buffer: CustomerEvent[] = []
  #position = 0
  #day = 0
  #clock: number
  #generated = 0
  /** The charge at the start of the customer-day being simulated, and when it changed that day. */
  #chargeBefore = 0
  #chargeChangedAt = Number.POSITIVE_INFINITY
  #cancelled = 0

  constructor(input: SimulatorOptionsInput = {}) {
    this.options = parseSimulatorOptions(input)
    const { seed, start, warmupDays, drift } = this.options
    this.knownHazard = new KnownHazard(start, warmupDays, drift)
    this.#arrivals = streamFor(seed, Streams.arrivals, 0)
    this.#driftDays = drift.map((entry, index) => ({ day: Math.round((this.knownHazard.dayBoundaryAtOrAfter(entry.at) - start) / dayMs), drift: entry, index }))
    this.#clock = start - maxInitialTenureDays * dayMs - 1
    this.#table.ensure(this.options.customers + Math.ceil(this.options.signupsPerDay * 400))
    const signups: CustomerEvent[] = []
    for (let index = 0; index < this.options.customers; index++) signups.push(this.#addCustomer(Number.NaN, 0))
    signups.sort((a, b) => a.event_time - b.event_time)
    this.#buffer = signups
    this.#counts.signup += signups.length
    this.#generated += signups.length
  }

  /**
   * Every event with event_time <= clock has been returned, and none later. It starts before the earliest
   * possible signup of the initial population.
   */
  get clock(): number {
    return this.#clock
  }

  /** The day boundary the simulated state has reached: all events before it are generated. */
  get stateTime(): number {
    return this.options.start + this.#day * dayMs
  }

  /**
   * Returns the events with event_time in (clock, simTime], in event-time order, and moves the clock to simTime;
   * with `maxEvents` it may stop earlier, at the time of the last event returned (the caller's rate cap slows the
   * simulated clock). The sequence is the same whatever the steps.
   */
  advanceTo(simTime: number, options: AdvanceOptions = {}): CustomerEvent[] {
    if (!Number.isFinite(simTime)) throw new ChurnError(ErrorCodes.VALIDATION, `advanceTo: expected a finite simulated time, got ${simTime}`)
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY
    if (!(maxEvents >= 1)) throw new ChurnError(ErrorCodes.VALIDATION, `advanceTo: expected maxEvents >= 1, got ${maxEvents}`)
    const out: CustomerEvent[] = []
    if (simTime <= this.#clock) return out
    for (;;) {
      const buffer = this.#buffer
      for (let event = buffer[this.#position]; event !== undefined; event = buffer[this.#position]) {
        if (event.event_time > simTime) {
          this.#clock = simTime
          return out
        }
        const last = out[out.length - 1]
        if (last !== undefined && out.length >= maxEvents && event.event_time !== last.event_time) {
          this.#clock = last.event_time
          return out
        }
        out.push(event)
        this.#position++
      }
      // Events of the next day are all after the current day boundary.
      if (this.stateTime >= simTime) {
        this.#clock = simTime
        return out
      }
      this.#generateDay()
    }
  }

  /** The events up to `until`, one at a time, in event-time order (advances the clock as it goes). */
  *events(until: number): Generator<CustomerEvent, void, undefined> {
    for (;;) {
      const batch = this.advanceTo(until, { maxEvents: 4_096 })
      yield* batch
      if (this.#clock >= until) return
    }
  }

  /** Daily cancellation probability at `time` for a customer in `state`, under the known hazard (drifts included). */
  hazard(state: ObservableState, time: number): number {
    return this.knownHazard.hazard(state, time)
  }

  coefficientsAt(time: number): Readonly<HazardCoefficients> {
    return this.knownHazard.coefficientsAt(time)
  }

  /** The observable state of an active customer at {@link stateTime}; undefined when unknown or cancelled. */
  observe(customerId: string): ObservableState | undefined {
    const index = this.#indexOf(customerId)
    if (index === undefined || this.#table.active[index] !== 1) return undefined
    return this.#fillState(index, this.stateTime, emptyState())
  }

  /**
   * The oracle: probability that the customer cancels within `horizonDays` after `asOf`, with the observable state
   * at `asOf` held (see README). A customer id is looked up at {@link stateTime}, the only time the simulator holds
   * state for; pass an {@link ObservableState} for other times.
   */
  churnProbability(customer: string | ObservableState, asOf: number, horizonDays: number = this.options.horizonDays): number {
    if (typeof customer !== 'string') return this.knownHazard.churnProbability(customer, asOf, horizonDays)
    if (asOf !== this.stateTime) {
      throw new ChurnError(ErrorCodes.VALIDATION, `churnProbability: the simulator holds state as of ${new Date(this.stateTime).toISOString()}, not ${new Date(asOf).toISOString()}; pass an ObservableState for other times`)
    }
    const index = this.#indexOf(customer)
    if (index === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `churnProbability: unknown customer ${customer}`)
    if (this.#table.active[index] !== 1) return 0
    return this.knownHazard.churnProbability(this.#fillState(index, asOf, this.#state), asOf, horizonDays)
  }

  /**
   * Ground-truth points recorded so far (option `groundTruth`) whose horizon lies within the simulated period,
   * with their realised labels.
   */
  observations(): ObservationPoint[] {
    const horizonDays = this.options.horizonDays
    const horizonMs = horizonDays * dayMs
    const known = this.stateTime
    const result: ObservationPoint[] = []
    for (const point of this.#observations) {
      if (point.asOf + horizonMs > known) continue
      const cancelTime = this.#table.cancelTime[point.index] ?? Number.NaN
      const cancelled = !Number.isNaN(cancelTime)
      result.push({
        customerId: this.#table.ids[point.index] ?? '',
        asOf: point.asOf,
        horizonDays,
        probability: point.probability,
        label: cancelled && cancelTime > point.asOf && cancelTime <= point.asOf + horizonMs,
        cancelledAt: cancelled ? cancelTime : null,
        state: point.state,
      })
    }
    return result
  }

  stats(): SimulatorStats {
    const cancelled = this.#cancelled
    return {
      clock: this.#clock,
      stateTime: this.stateTime,
      customersEver: this.#table.size,
      activeCustomers: this.#table.size - cancelled,
      cancelledCustomers: cancelled,
      eventsGenerated: this.#generated,
      eventsByType: { ...this.#counts },
    }
  }

  #indexOf(customerId: string): number | undefined {
    const prefix = this.options.customerIdPrefix
    if (!customerId.startsWith(prefix)) return undefined
    const digits = customerId.slice(prefix.length)
    if (!/^(0|[1-9]\d*)$/u.test(digits)) return undefined
    const index = Number(digits)
    return index < this.#table.size ? index : undefined
  }

  #emit(event: CustomerEvent): void {
    this.#buffer.push(event)
    this.#counts[event.type]++
    this.#generated++
  }

  /** State as of `time`, the boundary of `day`, from the events before it. */
  #fillState(index: number, time: number, state: ObservableState): ObservableState {
    const table = this.#table
    state.contract = contracts[table.contract[index] ?? 0] ?? 'month_to_month'
    state.tenureDays = (time - (table.signupTime[index] ?? 0)) / dayMs
    state.monthlyCharge = table.charge[index] ?? 0
    state.usageMinutes30d = (table.usageSum30[index] ?? 0) / 10
    state.usageMinutes90d = (table.usageSum90[index] ?? 0) / 10
    state.activeDays30d = table.activeDays30[index] ?? 0
    const paymentBase = index * paymentRing
    let minPayment = Number.POSITIVE_INFINITY
    let failed = 0
    for (let slot = 0; slot < paymentRing; slot++) {
      const at = table.paymentTime[paymentBase + slot] ?? 0
      if (at > time - window90 && at <= time) {
        const amount = table.paymentAmount[paymentBase + slot] ?? 0
        if (amount < minPayment) minPayment = amount
        if (at > time - window30 && table.paymentFailed[paymentBase + slot] === 1) failed++
      }
    }
    state.minPayment90d = minPayment === Number.POSITIVE_INFINITY ? null : minPayment
    state.failedPayments30d = failed
    const ticketBase = index * ticketRing
    let opened = 0
    let resolved = 0
    let worst = 0
    for (let slot = 0; slot < ticketRing; slot++) {
      const at = table.ticketTime[ticketBase + slot] ?? 0
      if (at > time - window30 && at <= time) {
        const severity = table.ticketSeverity[ticketBase + slot] ?? 0
        if (severity > 0) {
          opened++
          if (severity > worst) worst = severity
        } else {
          resolved++
        }
      }
    }
    state.ticketsOpened30d = opened
    state.ticketsResolved30d = resolved
    state.worstSeverity30d = worst
    return state
  }

  #generateDay(): void {
    const day = this.#day
    const dayStart = this.stateTime
    this.#buffer = []
    this.#position = 0
    for (const entry of this.#driftDays) if (entry.day === day) this.#applyDrift(entry.drift, entry.index)
    const groundTruth = this.options.groundTruth
    if (groundTruth !== undefined && day >= this.options.warmupDays && (day - this.options.warmupDays) % groundTruth.everyDays === 0) {
      this.#recordObservations(day, dayStart, groundTruth.share)
    }
    const active = this.#active
    const count = this.#activeCount
    for (let position = 0; position < count; position++) this.#simulateCustomerDay(active[position] ?? 0, day, dayStart)
    this.#arrive(day, dayStart)
    let kept = 0
    for (let position = 0; position < this.#activeCount; position++) {
      const index = this.#active[position] ?? 0
      if (this.#table.active[index] === 1) this.#active[kept++] = index
    }
    this.#activeCount = kept
    this.#buffer.sort((a, b) => a.event_time - b.event_time)
    this.#day = day + 1
  }

  #recordObservations(day: number, asOf: number, share: number): void {
    for (let position = 0; position < this.#activeCount; position++) {
      const index = this.#active[position] ?? 0
      if (share < 1 && hashUniform(this.options.seed, Streams.observation, index) >= share) continue
      const state = this.#fillState(index, asOf, emptyState())
      this.#observations.push({ index, asOf, state, probability: this.knownHazard.churnProbability(state, asOf, this.options.horizonDays) })
    }
  }

  #applyDrift(drift: DriftOptions, driftIndex: number): void {
    if (drift.kind === 'concept') return
    const table = this.#table
    const salt = Streams.selection + driftIndex
    for (let position = 0; position < this.#activeCount; position++) {
      const index = this.#active[position] ?? 0
      if (hashUniform(this.options.seed, salt, index) >= drift.share) continue
      if (drift.kind === 'price_rise') {
        // 15-25% at strength 1; the plan_change goes out on the customer's own day, after its hazard draw.
        const rise = drift.strength * (0.15 + 0.1 * hashUniform(this.options.seed, Streams.drift + driftIndex, index))
        table.pendingRise[index] = ((table.pendingRise[index] ?? 0) + 1) * (1 + rise) - 1
      } else {
        const factor = Math.max(0.1, 1 - 0.45 * drift.strength)
        table.baseline[index] = (table.baseline[index] ?? 0) * factor
        table.target[index] = (table.target[index] ?? 0) * factor
        table.engagement[index] = (table.engagement[index] ?? 0) * factor
      }
    }
  }

  #arrive(day: number, dayStart: number): void {
    const arrivals = poisson(this.#arrivals, this.options.signupsPerDay)
    if (arrivals === 0) return
    const offsets = new Float64Array(arrivals)
    for (let arrival = 0; arrival < arrivals; arrival++) offsets[arrival] = offsetInDay(this.#arrivals)
    offsets.sort()
    for (const offset of offsets) this.#emit(this.#addCustomer(dayStart + offset, day + 1))
  }

  /** Adds a customer and returns its signup; a NaN signup time means the initial population (tenure drawn here). */
  #addCustomer(signupTime: number, firstDay: number): CustomerEvent {
    const table = this.#table
    const index = table.size
    table.ensure(index + 1)
    table.size = index + 1
    const rng = streamFor(this.options.seed, Streams.customer, index)
    const id = `${this.options.customerIdPrefix}${index}`
    table.ids.push(id)
    table.rngs.push(rng)
    table.pending.push(undefined)
    const initial = Number.isNaN(signupTime)
    let contract: number
    let time = signupTime
    if (initial) {
      const tenure = uniform(rng) * maxInitialTenureDays * dayMs
      time = this.options.start - 1 - Math.floor(tenure)
      // Long-tenure survivors are mostly on long contracts.
      const months = tenure / dayMs / 30.4375
      const twoYear = 0.1 + (0.35 * months) / 72
      const draw = uniform(rng)
      contract = draw < twoYear ? 2 : draw < twoYear + 0.2 ? 1 : 0
    } else {
      contract = pickCumulative(rng, contractWeightsNew)
    }
    const senior = uniform(rng) < 0.16
    const partner = uniform(rng) < 0.48
    const dependents = uniform(rng) < (partner ? 0.45 : 0.1)
    const plan = pickCumulative(rng, planWeights)
    let serviceMask = 0
    if (uniform(rng) < 0.9) serviceMask |= Bits.phone
    const internet = uniform(rng)
    const lineChance = internetChance[plan] ?? internetChance[0]
    if (internet < lineChance[0]) serviceMask |= Bits.dsl
    else if (internet < lineChance[0] + lineChance[1]) serviceMask |= Bits.fiber
    for (let extra = 0; extra < extraBits.length; extra++) {
      const chance = extraChance[extra]?.[plan] ?? 0
      if ((serviceMask & internetBits) !== 0 && uniform(rng) < chance) serviceMask |= extraBits[extra] ?? 0
    }
    if (serviceMask === 0) serviceMask = Bits.phone
    let method = pickCumulative(rng, methodWeights)
    if (senior && method > 1 && uniform(rng) < 0.3) method = 1
    const priceFactor = 0.95 + 0.1 * uniform(rng)
    const charge = monthlyCharge(plan, serviceMask, priceFactor)
    const baseline = Math.min(0.95, Math.max(0.08, 0.2 + 0.65 * uniform(rng) - (senior ? 0.1 : 0)))

    table.signupTime[index] = time
    table.firstDay[index] = firstDay
    table.cancelTime[index] = Number.NaN
    table.active[index] = 1
    table.contract[index] = contract
    table.plan[index] = plan
    table.services[index] = serviceMask
    table.method[index] = method
    table.priceFactor[index] = priceFactor
    table.charge[index] = charge
    table.billingOffset[index] = initial ? Math.floor(uniform(rng) * cycleDays) : firstDay % cycleDays
    // The initial population starts from the steady state: some of it is already in a decline.
    const target = initial && uniform(rng) < declineOnset / (declineOnset + declineRecovery) ? baseline * declineDepth(rng) : baseline
    table.baseline[index] = baseline
    table.target[index] = target
    table.engagement[index] = target
    this.#pushActive(index)

    return {
      event_id: uuidFrom(rng),
      customer_id: id,
      event_time: time,
      type: 'signup',
      payload: {
        plan: plans[plan] ?? 'basic',
        contract: contracts[contract] ?? 'month_to_month',
        payment_method: paymentMethods[method] ?? 'credit_card',
        monthly_charge: charge,
        services: serviceList(serviceMask),
        paperless_billing: uniform(rng) < 0.6,
        demographics: { senior, partner, dependents, region: regions[Math.floor(uniform(rng) * regions.length)] ?? 'metro' },
        channel: channels[pickCumulative(rng, channelWeights)] ?? 'web',
      },
    }
  }

  #pushActive(index: number): void {
    if (this.#activeCount === this.#active.length) {
      const grown = new Int32Array(Math.max(1_024, this.#active.length * 2))
      grown.set(this.#active)
      this.#active = grown
    }
    this.#active[this.#activeCount++] = index
  }

  /**
   * One customer's day. The hazard is drawn first, from the state before the day (events before the day boundary),
   * so the day's own events never feed its hazard; whatever would happen after the cancellation time is dropped.
   */
  #simulateCustomerDay(index: number, day: number, dayStart: number): void {
    const table = this.#table
    if ((table.firstDay[index] ?? 0) > day) return
    const rng = table.rng(index)
    const inputs = hazardInputs(this.#fillState(index, dayStart, this.#state), this.#inputs)
    const hazard = this.knownHazard.hazardFromInputs(inputs, dayStart)
    const cancels = uniform(rng) < hazard
    const dayEnd = dayStart + dayMs
    const cancelAt = cancels ? dayStart + offsetInDay(rng) : dayEnd

    // Engagement: mean-reverting walk around a target that occasionally collapses (a decline) and later recovers.
    const baseline = table.baseline[index] ?? 0
    let target = table.target[index] ?? 0
    const episode = uniform(rng)
    if (target < baseline) {
      if (episode < declineRecovery) target = baseline
    } else if (episode < declineOnset) {
      target = baseline * declineDepth(rng)
    }
    table.target[index] = target
    let engagement = table.engagement[index] ?? 0
    engagement += 0.08 * (target - engagement) + 0.05 * (uniform(rng) - uniform(rng))
    engagement = engagement < 0.02 ? 0.02 : engagement > 1 ? 1 : engagement
    table.engagement[index] = engagement

    const recentFailure = dayStart - (table.lastFailure[index] ?? 0) < window7
    const recentRise = dayStart - (table.lastRise[index] ?? 0) < 2 * window7

    // At most one charge change a day, so each payment of the day can bill the charge in force at its time.
    this.#chargeBefore = table.charge[index] ?? 0
    this.#chargeChangedAt = Number.POSITIVE_INFINITY
    const spontaneousChange = uniform(rng) < 1 / 300
    if ((table.pendingRise[index] ?? 0) !== 0) this.#raisePrice(index, dayStart, cancelAt)
    else if (spontaneousChange) this.#changePlan(index, dayStart, cancelAt, engagement)

    const pending = table.pending[index]
    if (pending !== undefined) this.#runScheduled(index, pending, day, dayStart, cancelAt)

    let tenths = 0
    if (uniform(rng) < 0.06 + 0.9 * engagement) {
      const sessions = 1 + poisson(rng, 0.3 + 5 * engagement)
      const minutes = Math.min(1_440, round1(sessions * (4 + 22 * engagement) * (0.75 + 0.5 * uniform(rng))))
      const dataMb = round1(minutes * megabytesPerMinute(table.services[index] ?? 0) * (0.6 + 0.8 * uniform(rng)))
      const time = dayStart + offsetInDay(rng)
      if (time < cancelAt) {
        this.#emit({ event_id: uuidFrom(rng), customer_id: table.ids[index] ?? '', event_time: time, type: 'usage', payload: { sessions, minutes, data_mb: dataMb } })
        tenths = Math.round(minutes * 10)
      }
    }

    // The slot of day-90 is overwritten; day-30 leaves the 30-day window.
    const base = index * usageRing
    const slot = base + (day % usageRing)
    const leaving30 = table.usageTenths[base + ((day + usageRing - 30) % usageRing)] ?? 0
    table.usageSum90[index] = (table.usageSum90[index] ?? 0) + tenths - (table.usageTenths[slot] ?? 0)
    table.usageSum30[index] = (table.usageSum30[index] ?? 0) + tenths - leaving30
    table.activeDays30[index] = (table.activeDays30[index] ?? 0) + (tenths > 0 ? 1 : 0) - (leaving30 > 0 ? 1 : 0)
    table.usageTenths[slot] = tenths

    if ((day - (table.billingOffset[index] ?? 0)) % cycleDays === 0) this.#pay(index, day, dayStart, cancelAt, 0)

    const ticketChance = 0.003 + 0.01 * (1 - engagement) + (recentFailure ? 0.04 : 0) + (recentRise ? 0.02 : 0)
    if (uniform(rng) < ticketChance) this.#openTicket(index, day, dayStart, cancelAt, engagement, recentFailure, recentRise)

    if (cancels) {
      this.#emit({
        event_id: uuidFrom(rng),
        customer_id: table.ids[index] ?? '',
        event_time: cancelAt,
        type: 'cancellation',
        payload: this.#cancellationPayload(rng, inputs),
      })
      table.active[index] = 0
      table.cancelTime[index] = cancelAt
      this.#cancelled++
      table.pending[index] = undefined
    }
  }

  #runScheduled(index: number, pending: Scheduled[], day: number, dayStart: number, cancelAt: number): void {
    const table = this.#table
    const rng = table.rng(index)
    let remaining = 0
    for (const item of pending) {
      if (item.day !== day) {
        pending[remaining++] = item
        continue
      }
      if (item.attempt > 0) {
        this.#pay(index, day, dayStart, cancelAt, item.attempt)
        continue
      }
      const time = dayStart + offsetInDay(rng)
      const eventId = uuidFrom(rng)
      if (time >= cancelAt || !this.#ticketSlotFree(index, time)) continue
      this.#emit({
        event_id: eventId,
        customer_id: table.ids[index] ?? '',
        event_time: time,
        type: 'support_ticket',
        payload: { ticket_id: `${table.ids[index] ?? ''}-t${item.ticket}`, category: ticketCategories[item.category] ?? 'other', severity: severities[item.severity - 1] ?? 'low', resolved: true },
      })
      this.#recordTicket(index, time, 0)
    }
    // A retry scheduled by #pay above was appended to this array and visited (and kept) by the same loop.
    pending.length = remaining
    if (remaining === 0) table.pending[index] = undefined
  }

  #schedule(index: number, item: Scheduled): void {
    const table = this.#table
    const pending = table.pending[index]
    if (pending === undefined) table.pending[index] = [item]
    else pending.push(item)
  }

  #pay(index: number, day: number, dayStart: number, cancelAt: number, attempt: number): void {
    const table = this.#table
    const rng = table.rng(index)
    const engagement = table.engagement[index] ?? 0
    const method = table.method[index] ?? 0
    const failChance = (failureBase[method] ?? 0) * (0.4 + 2.4 * (1 - engagement)) * (attempt > 0 ? 1.5 : 1)
    const lateChance = 0.03 + 0.05 * (1 - engagement)
    const draw = uniform(rng)
    const status = draw < failChance ? 'failed' : draw < failChance + lateChance ? 'late' : 'paid'
    const time = dayStart + offsetInDay(rng)
    const eventId = uuidFrom(rng)
    const retryIn = 3 + Math.floor(uniform(rng) * 3)
    if (time >= cancelAt) return
    const amount = time < this.#chargeChangedAt ? this.#chargeBefore : (table.charge[index] ?? 0)
    this.#emit({
      event_id: eventId,
      customer_id: table.ids[index] ?? '',
      event_time: time,
      type: 'payment',
      payload: { amount, status, method: paymentMethods[method] ?? 'credit_card' },
    })
    const slot = index * paymentRing + (table.paymentNext[index] ?? 0)
    table.paymentTime[slot] = time
    table.paymentAmount[slot] = amount
    table.paymentFailed[slot] = status === 'failed' ? 1 : 0
    table.paymentNext[index] = ((table.paymentNext[index] ?? 0) + 1) % paymentRing
    if (status === 'failed') {
      table.lastFailure[index] = time
      if (attempt < maxPaymentRetries) this.#schedule(index, { day: day + retryIn, attempt: attempt + 1, ticket: 0, category: 0, severity: 0 })
    }
  }

  /** The ring keeps 16 ticket events; one still inside the 30-day window is never overwritten. */
  #ticketSlotFree(index: number, time: number): boolean {
    const slot = index * ticketRing + (this.#table.ticketNext[index] ?? 0)
    return (this.#table.ticketTime[slot] ?? 0) <= time - window30
  }

  #recordTicket(index: number, time: number, severity: number): void {
    const table = this.#table
    const slot = index * ticketRing + (table.ticketNext[index] ?? 0)
    table.ticketTime[slot] = time
    table.ticketSeverity[slot] = severity
    table.ticketNext[index] = ((table.ticketNext[index] ?? 0) + 1) % ticketRing
  }

  #openTicket(index: number, day: number, dayStart: number, cancelAt: number, engagement: number, recentFailure: boolean, recentRise: boolean): void {
    const table = this.#table
    const rng = table.rng(index)
    const fiber = ((table.services[index] ?? 0) & Bits.fiber) !== 0
    const categoryWeights = cumulative([
      0.2 + (recentFailure ? 1.5 : 0) + (recentRise ? 1 : 0),
      0.35 + (fiber ? 0.2 : 0),
      0.15,
      0.05 + 0.25 * (1 - engagement),
      0.1,
    ])
    const category = pickCumulative(rng, categoryWeights)
    const severity = 1 + pickCumulative(rng, severityWeights)
    const time = dayStart + offsetInDay(rng)
    const eventId = uuidFrom(rng)
    const resolves = uniform(rng) < (category === ticketCategoryIndex.cancellationRequest ? 0.6 : 0.85)
    const delay = 1 + Math.min(20, Math.floor(-Math.log(1 - uniform(rng)) * (resolutionDays[severity - 1] ?? 3)))
    if (time >= cancelAt || !this.#ticketSlotFree(index, time)) return
    const ticket = (table.ticketCount[index] ?? 0) + 1
    table.ticketCount[index] = ticket
    this.#emit({
      event_id: eventId,
      customer_id: table.ids[index] ?? '',
      event_time: time,
      type: 'support_ticket',
      payload: { ticket_id: `${table.ids[index] ?? ''}-t${ticket}`, category: ticketCategories[category] ?? 'other', severity: severities[severity - 1] ?? 'low', resolved: false },
    })
    this.#recordTicket(index, time, severity)
    if (resolves) this.#schedule(index, { day: day + delay, attempt: 0, ticket, category, severity })
  }

  #raisePrice(index: number, dayStart: number, cancelAt: number): void {
    const table = this.#table
    const rng = table.rng(index)
    const rise = table.pendingRise[index] ?? 0
    table.pendingRise[index] = 0
    const time = dayStart + offsetInDay(rng)
    const eventId = uuidFrom(rng)
    if (time >= cancelAt) return
    table.priceFactor[index] = (table.priceFactor[index] ?? 1) * (1 + rise)
    this.#emitPlanChange(index, time, eventId, null)
    table.lastRise[index] = time
  }

  #changePlan(index: number, dayStart: number, cancelAt: number, engagement: number): void {
    const table = this.#table
    const rng = table.rng(index)
    let plan = table.plan[index] ?? 0
    let serviceMask = table.services[index] ?? 0
    let contract = table.contract[index] ?? 0
    const upgrade = uniform(rng) < 0.25 + 0.5 * engagement
    const choice = uniform(rng)
    const extra = extraBits[Math.floor(uniform(rng) * extraBits.length)] ?? Bits.techSupport
    if (upgrade) {
      if (plan < 2 && choice < 0.4) plan++
      else if ((serviceMask & Bits.dsl) !== 0 && choice < 0.6) serviceMask = (serviceMask & ~Bits.dsl) | Bits.fiber
      else if ((serviceMask & internetBits) !== 0) serviceMask |= extra
      else serviceMask |= Bits.dsl
      if (contract === 0 && uniform(rng) < 0.15) contract = 1
    } else {
      if (plan > 0 && choice < 0.4) plan--
      else if ((serviceMask & Bits.fiber) !== 0 && choice < 0.6) serviceMask = (serviceMask & ~Bits.fiber) | Bits.dsl
      else serviceMask &= ~extra
      if (contract > 0 && uniform(rng) < 0.1) contract = 0
    }
    let method: number | null = null
    const current = table.method[index] ?? 0
    if (current <= 1 && uniform(rng) < 0.15) method = uniform(rng) < 0.5 ? 2 : 3
    const time = dayStart + offsetInDay(rng)
    const eventId = uuidFrom(rng)
    if (time >= cancelAt) return
    if (plan === table.plan[index] && serviceMask === table.services[index] && contract === table.contract[index] && method === null) return
    const before = table.charge[index] ?? 0
    table.plan[index] = plan
    table.services[index] = serviceMask
    table.contract[index] = contract
    if (method !== null) table.method[index] = method
    this.#emitPlanChange(index, time, eventId, method)
    if ((table.charge[index] ?? 0) > before) table.lastRise[index] = time
  }

  #emitPlanChange(index: number, time: number, eventId: string, method: number | null): void {
    const table = this.#table
    const serviceMask = table.services[index] ?? 0
    const charge = monthlyCharge(table.plan[index] ?? 0, serviceMask, table.priceFactor[index] ?? 1)
    table.charge[index] = charge
    this.#chargeChangedAt = time
    this.#emit({
      event_id: eventId,
      customer_id: table.ids[index] ?? '',
      event_time: time,
      type: 'plan_change',
      payload: {
        plan: plans[table.plan[index] ?? 0] ?? 'basic',
        contract: contracts[table.contract[index] ?? 0] ?? 'month_to_month',
        monthly_charge: charge,
        services: serviceList(serviceMask),
        payment_method: method === null ? null : (paymentMethods[method] ?? null),
      },
    })
  }

  /** The stated reason follows the terms that drove the hazard; it does not feed back into anything. */
  #cancellationPayload(rng: RandomGenerator, inputs: HazardInputs): { reason: (typeof cancellationReasons)[number]; voluntary: boolean } {
    const weights = new Array<number>(cancellationReasons.length).fill(0)
    weights[reasonIndex.price] = 0.3 + 0.1 * Math.max(0, inputs.charge) + 6 * inputs.priceIncrease
    weights[reasonIndex.competitor] = 0.6
    weights[reasonIndex.service_quality] = 0.3 + 0.2 * inputs.worstSeverity
    weights[reasonIndex.support] = 0.6 * inputs.unresolvedTickets + 0.15 * inputs.worstSeverity
    weights[reasonIndex.moved] = 0.25
    weights[reasonIndex.no_longer_needed] = 0.3 + 2 * inputs.usageDecline + 0.05 * inputs.inactivity
    weights[reasonIndex.non_payment] = 1.2 * inputs.failedPayments
    weights[reasonIndex.other] = 0.25
    const reason = cancellationReasons[pickCumulative(rng, cumulative(weights))] ?? 'other'
    return { reason, voluntary: reason !== 'non_payment' }
  }
}

/** Creates a simulator from options (parsed with zod; a bad field throws CONFIG_INVALID). */
export function createSimulator(input: SimulatorOptionsInput = {}): CustomerSimulator {
  return new CustomerSimulator(input)
}

export interface GroundTruthRun {
  observations: ObservationPoint[]
  stats: SimulatorStats
}

/**
 * Runs a simulation for `days` simulated days, discarding the events, and returns its ground-truth points
 * (every 7 days after the warm-up for all customers unless `groundTruth` says otherwise).
 */
export function simulateGroundTruth(input: SimulatorOptionsInput, days: number): GroundTruthRun {
  const simulator = new CustomerSimulator({ groundTruth: {}, ...input })
  const end = simulator.options.start + days * dayMs
  let time = simulator.options.start
  while (time < end) {
    time = Math.min(end, time + dayMs)
    simulator.advanceTo(time)
  }
  return { observations: simulator.observations(), stats: simulator.stats() }
}
