import { createHash } from 'node:crypto'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import type { EventRow } from './offline/rows.js'
import type { Aggregation, FeatureDeclaration, Field, Source } from './types.js'

export const DAY_MS = 86_400_000

/** One source of events, with what features need of it. */
export interface CompiledSource {
  id: string
  source: Source
  /** Position in `FeatureSet.sources`, and in a state's per-source lists. */
  index: number
  /** Fields summed (sum, mean) and maxed (max) per day. Cells of a tile or total: count, sums..., maxes... */
  sumFields: Field[]
  maxFields: Field[]
  /** Longest window over this source, in days (0: none, so no day tiles are kept). */
  maxWindow: number
  /** Whether a lifetime aggregate reads this source (its cells are then kept over the whole history). */
  lifetime: boolean
  /** Fields whose last / first value is kept. */
  lastFields: Field[]
  firstFields: Field[]
  /** Tile fields in the order the JSON states of earlier releases laid cells out (count, sums..., maxes...). */
  legacyTileFields: Field[]
}

/**
 * Per-customer aggregation state, kept in the online store (see `encodeState`). Per-source lists are
 * indexed like `FeatureSet.sources`; the fixed-size numbers share one array, at offsets the feature
 * set knows. Parts a customer has not used yet are shared empty (frozen) values, created on first use.
 */
export interface CustomerState {
  version: string
  /** Newest event time applied (the as-of time of the vector). */
  newest: number | null
  /** Per source: day tiles, oldest first, flat: [day, count, sums..., maxes..., day, ...]. */
  tiles: number[][]
  /**
   * Lifetime cells ([count, sums..., maxes...]) of sources a lifetime aggregate reads; then per
   * `last` / `first` slot ((source, field) pairs in compile order) [event time, arrival, value] of the
   * latest / earliest event; then per source [first time, first arrival, last time, last arrival].
   * NaN marks a slot with no event yet.
   */
  cells: number[]
  /** ticket id -> [event time, arrival, resolved (0/1), value per open-ticket field...] of its latest event */
  tickets: Map<string, number[]> | undefined
  /** Arrivals (offsets) of events refused as late, so a replay refuses them again. */
  late: number[]
}

export type ApplyOutcome = 'applied' | 'late'

export interface FeatureSetOptions {
  /** An event older than the customer's newest event time by more than this is refused. @default 3 days */
  allowedLatenessMs?: number
}

const maxLateRemembered = 256

function sourceId(source: Source): string {
  return JSON.stringify({ types: [...source.types].sort(), where: source.where ?? [] })
}

const later = (time: number, seq: number, thanTime: number, thanSeq: number): boolean => time > thanTime || (time === thanTime && seq > thanSeq)

interface Condition {
  column: keyof EventRow
  equals: string | number | undefined
  notEquals: string | number | undefined
  /** What a missing column compares as. */
  missing: string | number
}

/** What an event of one type does to a source it may match. */
interface SourcePlan {
  source: CompiledSource
  where: Condition[]
  /** Where in `CustomerState.cells` the `last` / `first` slots this source feeds start, with their fields. */
  lastSlots: { at: number; field: Field }[]
  firstSlots: { at: number; field: Field }[]
  /** Where its lifetime cells and its `seen` slot start (-1: no lifetime cells). */
  totalsAt: number
  seenAt: number
  /** Numbers per day tile. */
  stride: number
}

/** A (source, window length) pair whose cells materialize sums once per vector. */
interface WindowView {
  source: number
  days: number
  /** Offset of its cells in the scratch array. */
  offset: number
}

/** How materialize computes one feature; `at` and `lifetime` are offsets in `CustomerState.cells` (-1: none). */
type Op =
  | { kind: 'count'; view: number; lifetime: number }
  | { kind: 'distinct_days'; view: number }
  | { kind: 'sum' | 'mean' | 'max'; view: number; lifetime: number; cell: number; fallback: number }
  | { kind: 'last' | 'first'; at: number; fallback: number }
  | { kind: 'days_since_last' | 'days_since_first'; at: number; fallback: number }
  | { kind: 'open_tickets' }
  | { kind: 'open_tickets_max'; field: number; fallback: number }
  | { kind: 'ratio'; numerator: number; denominator: number; scale: number; fallback: number }

/**
 * A declared feature set compiled for the online path: events update a compact per-customer state
 * (day tiles for windows, latest/earliest values, open tickets) and a vector is materialised from it
 * as of the customer's newest event time. The offline path compiles the same declarations to SQL.
 */
export class FeatureSet {
  readonly declarations: readonly FeatureDeclaration[]
  readonly names: readonly string[]
  readonly version: string
  readonly allowedLatenessMs: number
  readonly sources: readonly CompiledSource[]
  readonly #byId: Map<string, CompiledSource>
  readonly #openTicketFields: Field[]
  /** Source plans by event type: only the sources an event of that type can match. */
  readonly #plans: Map<string, SourcePlan[]>
  /** Where each part of `CustomerState.cells` starts (`#totalsAt` per source, -1 without lifetime cells). */
  readonly #totalsAt: number[]
  readonly #lastAt: number
  readonly #firstAt: number
  readonly #seenAt: number
  /** `cells` of a new customer: zero lifetime cells, NaN slots. */
  readonly #emptyCells: number[]
  readonly #emptyTiles: number[][]
  /** Sources that keep day tiles. */
  readonly #windowed: CompiledSource[]
  /** A vector's array before materialize fills it: unboxed doubles, the right length. */
  readonly #emptyVector: number[]
  readonly #views: WindowView[]
  readonly #ops: Op[]
  /** Window cells and distinct days of the vector being materialised (synchronous, so one per set). */
  readonly #scratch: Float64Array
  readonly #scratchDays: Float64Array

  constructor(declarations: readonly FeatureDeclaration[], options: FeatureSetOptions = {}) {
    this.declarations = declarations
    this.names = declarations.map((feature) => feature.name)
    this.allowedLatenessMs = options.allowedLatenessMs ?? 3 * DAY_MS
    this.#byId = new Map()
    this.#openTicketFields = []
    const seenNames = new Set<string>()
    for (const feature of declarations) {
      if (seenNames.has(feature.name)) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `feature ${feature.name} is declared twice`)
      this.#compile(feature, seenNames)
      seenNames.add(feature.name)
    }
    for (const source of this.#byId.values()) {
      if (source.maxWindow > 0 && this.allowedLatenessMs > source.maxWindow * DAY_MS) {
        throw new ChurnError(ErrorCodes.CONFIG_INVALID, `allowed lateness must not exceed the longest window (${source.maxWindow} days)`)
      }
    }
    this.sources = [...this.#byId.values()]

    const lastSlot = new Map<string, number>()
    const firstSlot = new Map<string, number>()
    for (const source of this.sources) {
      for (const field of source.lastFields) lastSlot.set(`${source.id}|${field.name}`, lastSlot.size)
      for (const field of source.firstFields) firstSlot.set(`${source.id}|${field.name}`, firstSlot.size)
    }
    this.#totalsAt = []
    const cells: number[] = []
    for (const source of this.sources) {
      this.#totalsAt.push(source.lifetime ? cells.length : -1)
      if (source.lifetime) for (let i = 0; i < 1 + source.sumFields.length + source.maxFields.length; i += 1) cells.push(0)
    }
    this.#lastAt = cells.length
    this.#firstAt = this.#lastAt + 3 * lastSlot.size
    this.#seenAt = this.#firstAt + 3 * firstSlot.size
    for (let i = this.#lastAt; i < this.#seenAt + 4 * this.sources.length; i += 1) cells.push(Number.NaN)
    this.#emptyCells = cells
    this.#emptyTiles = this.sources.map(() => noNumbers)
    this.#windowed = this.sources.filter((source) => source.maxWindow > 0)
    this.#plans = new Map()
    for (const source of this.sources) {
      const plan: SourcePlan = {
        source,
        where: (source.source.where ?? []).map((condition) => ({
          column: condition.column,
          equals: condition.equals,
          notEquals: condition.notEquals,
          missing: typeof condition.equals === 'number' || typeof condition.notEquals === 'number' ? 0 : '',
        })),
        lastSlots: source.lastFields.map((field) => ({ at: this.#lastAt + 3 * (lastSlot.get(`${source.id}|${field.name}`) ?? 0), field })),
        firstSlots: source.firstFields.map((field) => ({ at: this.#firstAt + 3 * (firstSlot.get(`${source.id}|${field.name}`) ?? 0), field })),
        totalsAt: this.#totalsAt[source.index] ?? -1,
        seenAt: this.#seenAt + 4 * source.index,
        stride: 2 + source.sumFields.length + source.maxFields.length,
      }
      for (const type of new Set(source.source.types)) {
        const list = this.#plans.get(type) ?? []
        list.push(plan)
        this.#plans.set(type, list)
      }
    }

    this.#views = []
    let scratch = 0
    const view = (source: CompiledSource, days: number): number => {
      const found = this.#views.findIndex((candidate) => candidate.source === source.index && candidate.days === days)
      if (found >= 0) return found
      this.#views.push({ source: source.index, days, offset: scratch })
      scratch += 1 + source.sumFields.length + source.maxFields.length
      return this.#views.length - 1
    }
    const index = new Map(declarations.map((feature, i) => [feature.name, i]))
    this.#ops = declarations.map((feature): Op => {
      const aggregation = feature.aggregation
      const fallback = feature.default
      const source = 'source' in aggregation ? this.#byId.get(sourceId(aggregation.source)) : undefined
      const compiled = source ?? { index: -1, id: '', sumFields: [], maxFields: [] }
      switch (aggregation.kind) {
        case 'count':
          return aggregation.window === 'lifetime' || source === undefined ? { kind: 'count', view: -1, lifetime: this.#totalsAt[compiled.index] ?? -1 } : { kind: 'count', view: view(source, aggregation.window), lifetime: -1 }
        case 'distinct_days':
          return { kind: 'distinct_days', view: source === undefined ? -1 : view(source, aggregation.window) }
        case 'sum':
        case 'mean':
        case 'max': {
          const name = aggregation.field.name
          const cell = aggregation.kind === 'max'
            ? 1 + compiled.sumFields.length + compiled.maxFields.findIndex((field) => field.name === name)
            : 1 + compiled.sumFields.findIndex((field) => field.name === name)
          const lifetime = aggregation.window === 'lifetime' || source === undefined
          return { kind: aggregation.kind, view: lifetime ? -1 : view(source, aggregation.window as number), lifetime: lifetime ? (this.#totalsAt[compiled.index] ?? -1) : -1, cell, fallback }
        }
        case 'last':
        case 'first': {
          const slot = (aggregation.kind === 'last' ? lastSlot : firstSlot).get(`${compiled.id}|${aggregation.field.name}`)
          return { kind: aggregation.kind, at: slot === undefined ? -1 : (aggregation.kind === 'last' ? this.#lastAt : this.#firstAt) + 3 * slot, fallback }
        }
        case 'days_since_last':
        case 'days_since_first':
          return { kind: aggregation.kind, at: compiled.index < 0 ? -1 : this.#seenAt + 4 * compiled.index + (aggregation.kind === 'days_since_last' ? 2 : 0), fallback }
        case 'open_tickets':
          return { kind: 'open_tickets' }
        case 'open_tickets_max':
          return { kind: 'open_tickets_max', field: this.#openTicketFields.findIndex((field) => field.name === aggregation.field.name), fallback }
        case 'ratio':
          return { kind: 'ratio', numerator: index.get(aggregation.numerator) ?? -1, denominator: index.get(aggregation.denominator) ?? -1, scale: aggregation.scale ?? 1, fallback }
      }
    })
    this.#emptyVector = this.#ops.map(() => 0.5).fill(0)
    this.#scratch = new Float64Array(scratch)
    this.#scratchDays = new Float64Array(this.#views.length)

    const canonical = JSON.stringify({
      lateness: this.allowedLatenessMs,
      features: declarations.map((feature) => ({ ...feature, aggregation: JSON.parse(JSON.stringify(feature.aggregation, (key, value: unknown) => (key === 'value' && typeof value === 'function' ? undefined : value))) as unknown })),
    })
    this.version = `fs-${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`
  }

  #source(source: Source): CompiledSource {
    const id = sourceId(source)
    let compiled = this.#byId.get(id)
    if (compiled === undefined) {
      compiled = { id, source, index: this.#byId.size, sumFields: [], maxFields: [], maxWindow: 0, lifetime: false, lastFields: [], firstFields: [], legacyTileFields: [] }
      this.#byId.set(id, compiled)
    }
    return compiled
  }

  #compile(feature: FeatureDeclaration, earlier: Set<string>): void {
    const aggregation: Aggregation = feature.aggregation
    const addField = (list: Field[], field: Field): void => {
      if (!list.some((existing) => existing.name === field.name)) list.push(field)
    }
    switch (aggregation.kind) {
      case 'count':
      case 'distinct_days': {
        const source = this.#source(aggregation.source)
        if (aggregation.window === 'lifetime') source.lifetime = true
        else source.maxWindow = Math.max(source.maxWindow, aggregation.window)
        break
      }
      case 'sum':
      case 'mean':
      case 'max': {
        const source = this.#source(aggregation.source)
        addField(aggregation.kind === 'max' ? source.maxFields : source.sumFields, aggregation.field)
        addField(source.legacyTileFields, aggregation.field)
        if (aggregation.window === 'lifetime') source.lifetime = true
        else source.maxWindow = Math.max(source.maxWindow, aggregation.window)
        break
      }
      case 'last':
        addField(this.#source(aggregation.source).lastFields, aggregation.field)
        break
      case 'first':
        addField(this.#source(aggregation.source).firstFields, aggregation.field)
        break
      case 'days_since_last':
      case 'days_since_first':
        this.#source(aggregation.source)
        break
      case 'open_tickets':
        break
      case 'open_tickets_max':
        addField(this.#openTicketFields, aggregation.field)
        break
      case 'ratio':
        for (const operand of [aggregation.numerator, aggregation.denominator]) {
          if (!earlier.has(operand)) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `ratio ${feature.name} uses ${operand}, which must be declared before it`)
        }
        break
    }
  }

  emptyState(): CustomerState {
    return { version: this.version, newest: null, tiles: this.#emptyTiles.slice(), cells: this.#emptyCells.slice(), tickets: undefined, late: noNumbers }
  }

  /** Applies one event (in arrival order; `arrival` is its offset). Late events change nothing. */
  apply(state: CustomerState, row: EventRow, arrival: number): ApplyOutcome {
    const time = row.event_time
    if (state.newest !== null && time < state.newest - this.allowedLatenessMs) {
      if (state.late === noNumbers) state.late = []
      state.late.push(arrival)
      if (state.late.length > maxLateRemembered) state.late.splice(0, state.late.length - maxLateRemembered)
      return 'late'
    }
    const plans = this.#plans.get(row.type)
    const cells = state.cells
    if (plans !== undefined) {
      for (const plan of plans) {
        if (!matches(plan.where, row)) continue
        const source = plan.source
        if (plan.totalsAt >= 0) accumulate(cells, plan.totalsAt, source, row)
        if (source.maxWindow > 0) {
          let tiles = state.tiles[source.index] ?? noNumbers
          if (tiles === noNumbers) state.tiles[source.index] = tiles = []
          accumulate(tiles, tileAt(tiles, Math.floor(time / DAY_MS), plan.stride), source, row)
        }
        for (const { at, field } of plan.lastSlots) {
          const current = cells[at] ?? Number.NaN
          if (Number.isNaN(current) || later(time, arrival, current, cells[at + 1] ?? 0)) {
            cells[at] = time
            cells[at + 1] = arrival
            cells[at + 2] = field.value(row)
          }
        }
        for (const { at, field } of plan.firstSlots) {
          const current = cells[at] ?? Number.NaN
          if (Number.isNaN(current) || later(current, cells[at + 1] ?? 0, time, arrival)) {
            cells[at] = time
            cells[at + 1] = arrival
            cells[at + 2] = field.value(row)
          }
        }
        const at = plan.seenAt
        if (Number.isNaN(cells[at] ?? Number.NaN)) {
          cells[at] = time
          cells[at + 1] = arrival
          cells[at + 2] = time
          cells[at + 3] = arrival
        } else {
          if (later(cells[at] ?? 0, cells[at + 1] ?? 0, time, arrival)) {
            cells[at] = time
            cells[at + 1] = arrival
          }
          if (later(time, arrival, cells[at + 2] ?? 0, cells[at + 3] ?? 0)) {
            cells[at + 2] = time
            cells[at + 3] = arrival
          }
        }
      }
    }
    if (row.type === 'support_ticket' && row.ticket_id !== undefined) {
      state.tickets ??= new Map()
      const current = state.tickets.get(row.ticket_id)
      if (current === undefined || later(time, arrival, current[0] ?? 0, current[1] ?? 0)) {
        const ticket = [time, arrival, row.resolved ?? 0]
        for (const field of this.#openTicketFields) ticket.push(field.value(row))
        state.tickets.set(row.ticket_id, ticket)
      }
    }
    if (state.newest === null || time > state.newest) {
      // Windows end on the newest event's day, so only a new day can put tiles out of their reach.
      const day = Math.floor(time / DAY_MS)
      const pruned = state.newest !== null && day === Math.floor(state.newest / DAY_MS)
      state.newest = time
      if (!pruned) this.#prune(state, day)
    }
    return 'applied'
  }

  /** Drops day tiles no window can reach any more: windows only move forward with the newest event. */
  #prune(state: CustomerState, today: number): void {
    for (const source of this.#windowed) {
      const tiles = state.tiles[source.index] ?? noNumbers
      const stride = 2 + source.sumFields.length + source.maxFields.length
      let drop = 0
      while (drop < tiles.length && (tiles[drop] ?? 0) <= today - source.maxWindow) drop += stride
      if (drop > 0) {
        tiles.copyWithin(0, drop)
        tiles.length -= drop
      }
    }
  }

  /**
   * The vector in declaration order, as of the newest event time, or as of a later time (windows and
   * "days since" then count from it, as the offline store does for an observation).
   */
  materialize(state: CustomerState, at?: number): Float64Array {
    return new Float64Array(this.materializeValues(state, at))
  }

  /** `materialize` as a plain array, which the hot path encodes without a copy. */
  materializeValues(state: CustomerState, at?: number): number[] {
    const vector = this.#emptyVector.slice()
    const asOf = Math.max(at ?? 0, state.newest ?? 0)
    const today = Math.floor(asOf / DAY_MS)
    const cells = this.#scratch
    const days = this.#scratchDays
    // Day tiles summed oldest first, one pass per (source, window) that a feature reads.
    for (let v = 0; v < this.#views.length; v += 1) {
      const view = this.#views[v]
      if (view === undefined) continue
      const source = this.sources[view.source]
      const tiles = state.tiles[view.source] ?? []
      const sums = source?.sumFields.length ?? 0
      const width = 1 + sums + (source?.maxFields.length ?? 0)
      const stride = 1 + width
      const o = view.offset
      cells.fill(0, o, o + width)
      let count = 0
      for (let t = 0; t < tiles.length; t += stride) {
        const day = tiles[t] ?? 0
        if (day <= today - view.days || day > today) continue
        const empty = cells[o] === 0
        count += 1
        cells[o] = (cells[o] ?? 0) + (tiles[t + 1] ?? 0)
        for (let i = 1; i <= sums; i += 1) cells[o + i] = (cells[o + i] ?? 0) + (tiles[t + 1 + i] ?? 0)
        for (let i = 1 + sums; i < width; i += 1) {
          const max = tiles[t + 1 + i] ?? 0
          cells[o + i] = empty ? max : Math.max(cells[o + i] ?? max, max)
        }
      }
      days[v] = count
    }
    const ops = this.#ops
    let i = 0
    for (const op of ops) {
      let value: number
      switch (op.kind) {
        case 'count':
          value = op.view >= 0 ? (cells[this.#views[op.view]?.offset ?? 0] ?? 0) : op.lifetime >= 0 ? (state.cells[op.lifetime] ?? 0) : 0
          break
        case 'distinct_days':
          value = days[op.view] ?? 0
          break
        case 'sum':
        case 'mean':
        case 'max': {
          const source = op.view >= 0 ? cells : op.lifetime >= 0 ? state.cells : undefined
          const base = op.view >= 0 ? (this.#views[op.view]?.offset ?? 0) : op.lifetime
          const count = source?.[base] ?? 0
          if (count === 0) value = op.fallback
          else if (op.kind === 'mean') value = (source?.[base + op.cell] ?? 0) / count
          else value = source?.[base + op.cell] ?? op.fallback
          break
        }
        case 'last':
        case 'first':
          value = op.at < 0 || Number.isNaN(state.cells[op.at] ?? Number.NaN) ? op.fallback : (state.cells[op.at + 2] ?? op.fallback)
          break
        case 'days_since_last':
        case 'days_since_first': {
          const seen = op.at < 0 ? Number.NaN : (state.cells[op.at] ?? Number.NaN)
          value = Number.isNaN(seen) ? op.fallback : (asOf - seen) / DAY_MS
          break
        }
        case 'open_tickets': {
          let open = 0
          if (state.tickets !== undefined) for (const ticket of state.tickets.values()) if (ticket[2] === 0) open += 1
          value = open
          break
        }
        case 'open_tickets_max': {
          let max = Number.NEGATIVE_INFINITY
          let open = 0
          for (const ticket of state.tickets?.values() ?? noTickets) {
            if (ticket[2] !== 0) continue
            open += 1
            max = Math.max(max, ticket[3 + op.field] ?? 0)
          }
          value = open === 0 ? op.fallback : max
          break
        }
        case 'ratio': {
          const denominator = vector[op.denominator] ?? 0
          value = denominator === 0 ? op.fallback : ((vector[op.numerator] ?? 0) / denominator) * op.scale
          break
        }
      }
      vector[i] = value
      i += 1
    }
    return vector
  }

  /**
   * Reads a state written by `encodeState` (or the JSON of earlier releases). Undefined when it was
   * built by another feature-set version, whose layout this set cannot read; throws when malformed.
   */
  decodeState(buffer: Buffer): CustomerState | undefined {
    if (buffer[0] === 0x7b) return this.#fromLegacyJson(buffer.toString())
    try {
      return this.#decodeBinary(buffer)
    } catch (error) {
      if (error instanceof RangeError) throw malformed('truncated')
      throw error
    }
  }

  #decodeBinary(buffer: Buffer): CustomerState | undefined {
    const reader = new StateReader(buffer)
    if (reader.header() !== this.version) return undefined
    const newest = reader.double()
    if (reader.count() !== this.sources.length) throw malformed('source count')
    const tiles = this.#emptyTiles.slice()
    for (let s = 0; s < tiles.length; s += 1) {
      const count = reader.count()
      if (count > 0) tiles[s] = reader.numbers(count)
    }
    const cells = reader.cells()
    if (cells.length !== this.#emptyCells.length) throw malformed('cells')
    let tickets: Map<string, number[]> | undefined
    const ticketCount = reader.count()
    if (ticketCount > 0) {
      tickets = new Map()
      for (let i = 0; i < ticketCount; i += 1) {
        const id = reader.string()
        tickets.set(id, reader.numbers(reader.count()))
      }
    }
    const lateCount = reader.count()
    const late = lateCount === 0 ? noNumbers : reader.numbers(lateCount)
    if (!reader.done()) throw malformed('trailing bytes')
    return { version: this.version, newest: Number.isNaN(newest) ? null : newest, tiles, cells, tickets, late }
  }

  #fromLegacyJson(text: string): CustomerState | undefined {
    const legacy = JSON.parse(text) as LegacyState
    if (legacy.version !== this.version) return undefined
    const state = this.emptyState()
    state.newest = legacy.newest
    const convert = (source: CompiledSource, cells: readonly number[]): number[] => {
      const fields = source.legacyTileFields.length
      const at = (field: Field): number => source.legacyTileFields.findIndex((candidate) => candidate.name === field.name)
      return [cells[0] ?? 0, ...source.sumFields.map((field) => cells[1 + at(field)] ?? 0), ...source.maxFields.map((field) => cells[1 + fields + at(field)] ?? 0)]
    }
    const put = (at: number, values: readonly number[] | undefined): void => {
      if (values !== undefined) state.cells.splice(at, values.length, ...values)
    }
    let lastSlot = 0
    let firstSlot = 0
    for (const source of this.sources) {
      const tiles = Object.entries(legacy.tiles[source.id] ?? {}).sort(([a], [b]) => Number(a) - Number(b))
      if (source.maxWindow > 0 && tiles.length > 0) state.tiles[source.index] = tiles.flatMap(([day, cells]) => [Number(day), ...convert(source, cells)])
      const total = legacy.totals[source.id]
      if (source.lifetime && total !== undefined) put(this.#totalsAt[source.index] ?? -1, convert(source, total))
      for (const field of source.lastFields) put(this.#lastAt + 3 * lastSlot++, legacy.last[`${source.id}|${field.name}`])
      for (const field of source.firstFields) put(this.#firstAt + 3 * firstSlot++, legacy.first[`${source.id}|${field.name}`])
      put(this.#seenAt + 4 * source.index, legacy.seen[source.id])
    }
    const tickets = Object.entries(legacy.tickets)
    if (tickets.length > 0) state.tickets = new Map(tickets)
    if (legacy.late.length > 0) state.late = legacy.late
    return state
  }
}

/** The JSON state of releases before the binary layout. */
interface LegacyState {
  version: string
  newest: number | null
  tiles: Record<string, Record<string, number[]>>
  totals: Record<string, number[]>
  last: Record<string, [number, number, number]>
  first: Record<string, [number, number, number]>
  seen: Record<string, [number, number, number, number]>
  tickets: Record<string, number[]>
  late: number[]
}

function matches(where: readonly Condition[], row: EventRow): boolean {
  for (const condition of where) {
    const value = row[condition.column] ?? condition.missing
    if (condition.equals !== undefined && value !== condition.equals) return false
    if (condition.notEquals !== undefined && value === condition.notEquals) return false
  }
  return true
}

/** What a state holds where it has nothing yet: shared, so frozen, and replaced on first use. */
const noNumbers = Object.freeze([]) as unknown as number[]
const noTickets: readonly number[][] = []

/** Where the cells of `day`'s tile start, adding the tile (in day order) when it is new. */
function tileAt(tiles: number[], day: number, stride: number): number {
  let at = tiles.length
  // Events mostly arrive in time order, so the tile is nearly always the newest one or a new one after it.
  while (at > 0 && (tiles[at - stride] ?? 0) > day) at -= stride
  if (at > 0 && tiles[at - stride] === day) return at - stride + 1
  if (at === tiles.length) {
    tiles.push(day)
    for (let i = 1; i < stride; i += 1) tiles.push(0)
  } else {
    tiles.splice(at, 0, day, ...new Array<number>(stride - 1).fill(0))
  }
  return at + 1
}

/** Adds one event to the cells at `at`: count, then the sums, then the maxes (the first event sets a max). */
function accumulate(cells: number[], at: number, source: CompiledSource, row: EventRow): void {
  const empty = cells[at] === 0
  cells[at] = (cells[at] ?? 0) + 1
  const sums = source.sumFields
  for (let i = 0; i < sums.length; i += 1) cells[at + 1 + i] = (cells[at + 1 + i] ?? 0) + (sums[i]?.value(row) ?? 0)
  const maxes = source.maxFields
  for (let i = 0; i < maxes.length; i += 1) {
    const value = maxes[i]?.value(row) ?? 0
    const cell = at + 1 + sums.length + i
    cells[cell] = empty ? value : Math.max(cells[cell] ?? value, value)
  }
}

// Binary state layout: magic byte, layout version, feature-set version (u8 length + ASCII), newest
// (f64 LE, NaN for none); per source its tile numbers (varint count + f64s); the cells (varint count, a
// bitmap of the cells that are not NaN, their f64s); tickets (varint count, per ticket varint UTF-8 id
// length + id + varint count + f64s); late arrivals (varint count + f64s). The counts make it readable
// without the feature set; unused slots take one bit each.
const stateMagic = 0xc5
const stateLayout = 1

function malformed(what: string): ChurnError {
  return new ChurnError(ErrorCodes.DECODE, `stored customer state is malformed (${what})`)
}

let scratch = Buffer.allocUnsafe(8_192)

function writeCount(buffer: Buffer, value: number, at: number): number {
  let rest = value
  let next = at
  while (rest >= 0x80) {
    buffer[next++] = (rest & 0x7f) | 0x80
    rest >>>= 7
  }
  buffer[next++] = rest
  return next
}

function writeDoubles(buffer: Buffer, values: readonly number[], at: number): number {
  const start = writeCount(buffer, values.length, at)
  // Indexed: iterating doubles with for-of boxes each one.
  for (let i = 0; i < values.length; i += 1) buffer.writeDoubleLE(values[i] ?? 0, start + 8 * i)
  return start + 8 * values.length
}

/** Serialises a state compactly (8 bytes per number in use) for the online store. */
export function encodeState(state: CustomerState): Buffer {
  const { cells, tiles, tickets, late } = state
  let bound = 3 + state.version.length + 8 + 5 + 5 + cells.length + 8 * cells.length + 5 + 5 + 8 * late.length
  for (const list of tiles) bound += 5 + 8 * list.length
  if (tickets !== undefined) for (const [id, ticket] of tickets) bound += 10 + 3 * id.length + 8 * ticket.length
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(2 * bound)
  const buffer = scratch
  let at = 0
  buffer[at++] = stateMagic
  buffer[at++] = stateLayout
  buffer[at++] = state.version.length
  at += buffer.write(state.version, at, 'latin1')
  at = buffer.writeDoubleLE(state.newest ?? Number.NaN, at)
  at = writeCount(buffer, tiles.length, at)
  for (const list of tiles) at = writeDoubles(buffer, list, at)
  at = writeCount(buffer, cells.length, at)
  const bitmap = at
  at += (cells.length + 7) >>> 3
  buffer.fill(0, bitmap, at)
  for (let i = 0; i < cells.length; i += 1) {
    const value = cells[i] ?? Number.NaN
    if (Number.isNaN(value)) continue
    buffer[bitmap + (i >>> 3)] = (buffer[bitmap + (i >>> 3)] ?? 0) | (1 << (i & 7))
    at = buffer.writeDoubleLE(value, at)
  }
  at = writeCount(buffer, tickets?.size ?? 0, at)
  if (tickets !== undefined) {
    for (const [id, ticket] of tickets) {
      const bytes = Buffer.byteLength(id)
      at = writeCount(buffer, bytes, at)
      at += buffer.write(id, at, bytes, 'utf8')
      at = writeDoubles(buffer, ticket, at)
    }
  }
  at = writeDoubles(buffer, late, at)
  const encoded = Buffer.allocUnsafe(at)
  buffer.copy(encoded, 0, 0, at)
  return encoded
}

class StateReader {
  readonly #buffer: Buffer
  #at = 0

  constructor(buffer: Buffer) {
    this.#buffer = buffer
  }

  header(): string {
    if (this.#buffer.length < 3 || this.#buffer[0] !== stateMagic) throw malformed('not a customer state')
    if (this.#buffer[1] !== stateLayout) throw malformed(`layout ${this.#buffer[1] ?? '?'}`)
    const length = this.#buffer[2] ?? 0
    this.#at = 3 + length
    return this.#buffer.toString('latin1', 3, this.#at)
  }

  double(): number {
    const value = this.#buffer.readDoubleLE(this.#at)
    this.#at += 8
    return value
  }

  count(): number {
    let value = 0
    let shift = 0
    for (;;) {
      const byte = this.#buffer[this.#at++]
      if (byte === undefined || shift > 28) throw malformed('truncated')
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
      shift += 7
    }
  }

  numbers(count: number): number[] {
    const values: number[] = []
    for (let i = 0; i < count; i += 1) values.push(this.double())
    return values
  }

  /** Numbers written with a bitmap of those present; the others are NaN. */
  cells(): number[] {
    const total = this.count()
    const bitmap = this.#at
    this.#at += (total + 7) >>> 3
    const values: number[] = []
    for (let i = 0; i < total; i += 1) values.push((((this.#buffer[bitmap + (i >>> 3)] ?? 0) >>> (i & 7)) & 1) === 0 ? Number.NaN : this.double())
    return values
  }

  string(): string {
    const length = this.count()
    const value = this.#buffer.toString('utf8', this.#at, this.#at + length)
    this.#at += length
    return value
  }

  done(): boolean {
    return this.#at === this.#buffer.length
  }
}
