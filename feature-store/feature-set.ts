import { createHash } from 'node:crypto'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import type { EventRow } from './offline/rows.js'
import type { Aggregation, FeatureDeclaration, Field, Source } from './types.js'

export const DAY_MS = 86_400_000

/** One source of events, with what features need of it. */
export interface CompiledSource {
  id: string
  source: Source
  /** Fields summed or maxed per day (tile layout: count, sums..., maxes...). */
  tileFields: Field[]
  /** Longest window over this source, in days (0: none). */
  maxWindow: number
  /** Fields whose last / first value is kept. */
  lastFields: Field[]
  firstFields: Field[]
}

/** Per-customer aggregation state; JSON-serialisable, kept in the online store. */
export interface CustomerState {
  version: string
  /** Newest event time applied (the as-of time of the vector). */
  newest: number | null
  /** source id -> day number -> [count, sum per tile field..., max per tile field...] */
  tiles: Record<string, Record<string, number[]>>
  /** source id -> [count, sums..., maxes...] over the whole history */
  totals: Record<string, number[]>
  /** `${source id}|${field}` -> [event time, arrival, value] of the latest (last) or earliest (first) event */
  last: Record<string, [number, number, number]>
  first: Record<string, [number, number, number]>
  /** source id -> [first time, first arrival, last time, last arrival] */
  seen: Record<string, [number, number, number, number]>
  /** ticket id -> [event time, arrival, resolved (0/1), value per open-ticket field...] of its latest event */
  tickets: Record<string, number[]>
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

function matches(source: Source, row: EventRow): boolean {
  if (!source.types.includes(row.type as never)) return false
  for (const condition of source.where ?? []) {
    const value = row[condition.column] ?? (typeof condition.equals === 'number' || typeof condition.notEquals === 'number' ? 0 : '')
    if (condition.equals !== undefined && value !== condition.equals) return false
    if (condition.notEquals !== undefined && value === condition.notEquals) return false
  }
  return true
}

const later = (time: number, seq: number, than: readonly number[]): boolean => time > (than[0] ?? -Infinity) || (time === than[0] && seq > (than[1] ?? -Infinity))

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
  /** The compiled source of each declaration that reads one (by declaration index). */
  readonly #sourceOf: (CompiledSource | undefined)[]

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
    this.#sourceOf = declarations.map((feature) => ('source' in feature.aggregation ? this.#byId.get(sourceId(feature.aggregation.source)) : undefined))
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
      compiled = { id, source, tileFields: [], maxWindow: 0, lastFields: [], firstFields: [] }
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
        if (aggregation.window !== 'lifetime') source.maxWindow = Math.max(source.maxWindow, aggregation.window)
        break
      }
      case 'sum':
      case 'mean':
      case 'max': {
        const source = this.#source(aggregation.source)
        addField(source.tileFields, aggregation.field)
        if (aggregation.window !== 'lifetime') source.maxWindow = Math.max(source.maxWindow, aggregation.window)
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
    return { version: this.version, newest: null, tiles: {}, totals: {}, last: {}, first: {}, seen: {}, tickets: {}, late: [] }
  }

  /** Applies one event (in arrival order; `arrival` is its offset). Late events change nothing. */
  apply(state: CustomerState, row: EventRow, arrival: number): ApplyOutcome {
    const time = row.event_time
    if (state.newest !== null && time < state.newest - this.allowedLatenessMs) {
      state.late.push(arrival)
      if (state.late.length > maxLateRemembered) state.late.splice(0, state.late.length - maxLateRemembered)
      return 'late'
    }
    const day = Math.floor(time / DAY_MS)
    for (const source of this.sources) {
      if (!matches(source.source, row)) continue
      const fieldCount = source.tileFields.length
      const values = source.tileFields.map((field) => field.value(row))
      const accumulate = (cells: number[]): void => {
        const empty = cells[0] === 0
        cells[0] = (cells[0] ?? 0) + 1
        values.forEach((value, i) => {
          cells[1 + i] = (cells[1 + i] ?? 0) + value
          cells[1 + fieldCount + i] = empty ? value : Math.max(cells[1 + fieldCount + i] ?? value, value)
        })
      }
      accumulate((state.totals[source.id] ??= new Array<number>(1 + 2 * fieldCount).fill(0)))
      if (source.maxWindow > 0) {
        const tiles = (state.tiles[source.id] ??= {})
        accumulate((tiles[String(day)] ??= new Array<number>(1 + 2 * fieldCount).fill(0)))
      }
      for (const field of source.lastFields) {
        const key = `${source.id}|${field.name}`
        const current = state.last[key]
        if (current === undefined || later(time, arrival, current)) state.last[key] = [time, arrival, field.value(row)]
      }
      for (const field of source.firstFields) {
        const key = `${source.id}|${field.name}`
        const current = state.first[key]
        if (current === undefined || later(current[0], current[1], [time, arrival])) state.first[key] = [time, arrival, field.value(row)]
      }
      const seen = state.seen[source.id]
      if (seen === undefined) {
        state.seen[source.id] = [time, arrival, time, arrival]
      } else {
        if (later(seen[0], seen[1], [time, arrival])) {
          seen[0] = time
          seen[1] = arrival
        }
        if (later(time, arrival, [seen[2], seen[3]])) {
          seen[2] = time
          seen[3] = arrival
        }
      }
    }
    if (row.type === 'support_ticket' && row.ticket_id !== undefined) {
      const current = state.tickets[row.ticket_id]
      if (current === undefined || later(time, arrival, current)) {
        state.tickets[row.ticket_id] = [time, arrival, row.resolved ?? 0, ...this.#openTicketFields.map((field) => field.value(row))]
      }
    }
    if (state.newest === null || time > state.newest) {
      state.newest = time
      this.#prune(state)
    }
    return 'applied'
  }

  /** Drops day tiles no window can reach any more: windows only move forward with the newest event. */
  #prune(state: CustomerState): void {
    const today = Math.floor((state.newest ?? 0) / DAY_MS)
    for (const source of this.sources) {
      const tiles = state.tiles[source.id]
      if (tiles === undefined) continue
      for (const day of Object.keys(tiles)) {
        if (Number(day) <= today - source.maxWindow) Reflect.deleteProperty(tiles, day)
      }
    }
  }

  /**
   * The vector in declaration order, as of the newest event time, or as of a later time (windows and
   * "days since" then count from it, as the offline store does for an observation).
   */
  materialize(state: CustomerState, at?: number): Float64Array {
    const vector = new Float64Array(this.declarations.length)
    const asOf = Math.max(at ?? 0, state.newest ?? 0)
    const today = Math.floor(asOf / DAY_MS)
    const byName = new Map<string, number>()
    const windows = new Map<string, { cells: number[]; days: number }>()
    this.declarations.forEach((feature, index) => {
      const value = this.#value(feature, this.#sourceOf[index], state, asOf, today, byName, windows)
      vector[index] = value
      byName.set(feature.name, value)
    })
    return vector
  }

  #window(state: CustomerState, compiled: CompiledSource, window: number | 'lifetime', today: number, cache: Map<string, { cells: number[]; days: number }>): { cells: number[]; days: number } {
    const key = `${compiled.id}|${window}`
    const cached = cache.get(key)
    if (cached !== undefined) return cached
    const fieldCount = compiled.tileFields.length
    let result: { cells: number[]; days: number }
    if (window === 'lifetime') {
      result = { cells: state.totals[compiled.id] ?? new Array<number>(1 + 2 * fieldCount).fill(0), days: 0 }
    } else {
      const cells = new Array<number>(1 + 2 * fieldCount).fill(0)
      let days = 0
      const tiles = state.tiles[compiled.id] ?? {}
      // Integer-like keys enumerate in ascending order, so days are summed oldest first.
      for (const key of Object.keys(tiles)) {
        const day = Number(key)
        if (day <= today - window || day > today) continue
        const tile = tiles[key] ?? []
        const empty = cells[0] === 0
        days += 1
        cells[0] = (cells[0] ?? 0) + (tile[0] ?? 0)
        for (let i = 0; i < fieldCount; i += 1) {
          cells[1 + i] = (cells[1 + i] ?? 0) + (tile[1 + i] ?? 0)
          const max = tile[1 + fieldCount + i] ?? 0
          cells[1 + fieldCount + i] = empty ? max : Math.max(cells[1 + fieldCount + i] ?? max, max)
        }
      }
      result = { cells, days }
    }
    cache.set(key, result)
    return result
  }

  #value(
    feature: FeatureDeclaration,
    compiled: CompiledSource | undefined,
    state: CustomerState,
    asOf: number,
    today: number,
    earlier: Map<string, number>,
    windows: Map<string, { cells: number[]; days: number }>,
  ): number {
    const aggregation = feature.aggregation
    const source = compiled ?? { id: '', source: { types: [] }, tileFields: [], maxWindow: 0, lastFields: [], firstFields: [] }
    switch (aggregation.kind) {
      case 'count':
        return this.#window(state, source, aggregation.window, today, windows).cells[0] ?? 0
      case 'distinct_days':
        return this.#window(state, source, aggregation.window, today, windows).days
      case 'sum':
      case 'mean':
      case 'max': {
        const { cells } = this.#window(state, source, aggregation.window, today, windows)
        const count = cells[0] ?? 0
        const i = source.tileFields.findIndex((candidate) => candidate.name === aggregation.field.name)
        const fieldCount = source.tileFields.length
        if (aggregation.kind === 'sum') return count === 0 ? feature.default : (cells[1 + i] ?? 0)
        if (count === 0) return feature.default
        return aggregation.kind === 'mean' ? (cells[1 + i] ?? 0) / count : (cells[1 + fieldCount + i] ?? feature.default)
      }
      case 'last':
      case 'first': {
        const key = `${source.id}|${aggregation.field.name}`
        return (aggregation.kind === 'last' ? state.last[key] : state.first[key])?.[2] ?? feature.default
      }
      case 'days_since_last':
      case 'days_since_first': {
        const seen = state.seen[source.id]
        if (seen === undefined) return feature.default
        return (asOf - (aggregation.kind === 'days_since_last' ? seen[2] : seen[0])) / DAY_MS
      }
      case 'open_tickets':
        return Object.values(state.tickets).filter((ticket) => ticket[2] === 0).length
      case 'open_tickets_max': {
        const i = this.#openTicketFields.findIndex((field) => field.name === aggregation.field.name)
        const open = Object.values(state.tickets).filter((ticket) => ticket[2] === 0)
        return open.length === 0 ? feature.default : Math.max(...open.map((ticket) => ticket[3 + i] ?? 0))
      }
      case 'ratio': {
        const denominator = earlier.get(aggregation.denominator) ?? 0
        if (denominator === 0) return feature.default
        return ((earlier.get(aggregation.numerator) ?? 0) / denominator) * (aggregation.scale ?? 1)
      }
    }
  }
}
