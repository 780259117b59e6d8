import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { customerEventSchema, describeIssues, type CustomerEvent, type Service } from '../../schemas/events.js'
import { importMappingSchema, type ColumnRef, type ImportMapping } from './mapping.js'

export interface RejectedRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number
  reason: string
}

export interface ImportResult {
  events: CustomerEvent[]
  customers: number
  rejected: RejectedRow[]
}

const dayMs = 86_400_000
/** Months are 30 days: snapshots give whole months of tenure, not calendar dates. */
const monthMs = 30 * dayMs

export function loadMapping(path: string): ImportMapping {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ChurnError(ErrorCodes.VALIDATION, `cannot read mapping ${path}: ${(error as Error).message}`)
  }
  const parsed = importMappingSchema.safeParse(json)
  if (!parsed.success) throw new ChurnError(ErrorCodes.VALIDATION, `invalid mapping ${path}: ${describeIssues(parsed.error)}`)
  return parsed.data
}

/** A UUID derived from a name, so importing the same table twice yields the same event ids. */
function stableUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`
}

class RowError extends Error {}

function cell(row: Record<string, string>, column: string): string {
  const value = row[column]
  if (value === undefined) throw new RowError(`column "${column}" is missing`)
  return value.trim()
}

function mapped<T>(row: Record<string, string>, ref: ColumnRef<T> | undefined, fallback: T): T {
  if (ref === undefined) return fallback
  const raw = cell(row, ref.column)
  if (ref.values === undefined) return raw as T
  if (!(raw in ref.values)) throw new RowError(`${ref.column} "${raw}" is not one of ${Object.keys(ref.values).map((key) => `"${key}"`).join(', ')}`)
  return ref.values[raw] as T
}

function numberIn(row: Record<string, string>, column: string, what: string): number {
  const raw = cell(row, column)
  const value = Number(raw)
  if (raw === '' || !Number.isFinite(value) || value < 0) throw new RowError(`${column} "${raw}" is not a valid ${what}`)
  return value
}

/**
 * Turns a table of customer snapshots into the events that would have produced it: a signup
 * `tenure` months before the snapshot, a payment every month since, and a cancellation just
 * before the snapshot for churned customers. Rows that cannot be mapped are reported, not guessed.
 */
export function importSnapshots(csv: string, mapping: ImportMapping): ImportResult {
  const rows = parse<Record<string, string>>(csv, { columns: true, skip_empty_lines: true, trim: false, relax_column_count: false })
  const validate = customerEventSchema({ now: mapping.snapshot_time, maxClockSkewMs: 0 })
  const events: CustomerEvent[] = []
  const rejected: RejectedRow[] = []
  const seen = new Set<string>()
  const { columns, defaults } = mapping
  rows.forEach((row, index) => {
    const line = index + 2
    try {
      const customerId = cell(row, columns.customer_id)
      if (seen.has(customerId)) throw new RowError(`customer ${customerId} appears more than once`)
      const tenure = numberIn(row, columns.tenure_months, 'number of months')
      if (!Number.isInteger(tenure)) throw new RowError(`${columns.tenure_months} "${tenure}" is not a whole number of months`)
      const monthly = numberIn(row, columns.monthly_charge, 'amount')
      const totalRaw = columns.total_charges === undefined ? '' : cell(row, columns.total_charges)
      const total = totalRaw === '' ? undefined : numberIn(row, columns.total_charges ?? '', 'amount')
      const churned = mapped(row, columns.churned, false)
      const activeServices: Service[] = mapping.services.filter((entry) => entry.when.includes(cell(row, entry.column))).map((entry) => entry.service)
      const signupTime = mapping.snapshot_time - Math.max(tenure * monthMs, dayMs / 2)
      const id = (kind: string, n = 0): string => stableUuid(`${customerId}/${kind}/${n}`)
      const customerEvents: unknown[] = [
        {
          event_id: id('signup'),
          customer_id: customerId,
          event_time: signupTime,
          type: 'signup',
          payload: {
            plan: mapped(row, columns.plan, defaults.plan),
            contract: mapped(row, columns.contract, defaults.contract),
            payment_method: mapped(row, columns.payment_method, defaults.payment_method),
            monthly_charge: monthly,
            services: [...new Set(activeServices)],
            paperless_billing: mapped(row, columns.paperless_billing, false),
            demographics: { senior: mapped(row, columns.senior, false), partner: mapped(row, columns.partner, false), dependents: mapped(row, columns.dependents, false), region: 'unknown' },
            channel: 'web',
          },
        },
      ]
      // Payments are spread so they add up to the lifetime total when the table has one.
      const perMonth = total !== undefined && tenure > 0 ? total / tenure : monthly
      for (let month = 1; month <= tenure; month += 1) {
        customerEvents.push({ event_id: id('payment', month), customer_id: customerId, event_time: signupTime + month * monthMs - dayMs, type: 'payment', payload: { amount: Math.round(perMonth * 100) / 100, status: 'paid', method: null } })
      }
      if (churned) {
        customerEvents.push({ event_id: id('cancellation'), customer_id: customerId, event_time: mapping.snapshot_time - dayMs / 4, type: 'cancellation', payload: { reason: 'other', voluntary: true } })
      }
      const valid: CustomerEvent[] = []
      for (const candidate of customerEvents) {
        const result = validate.safeParse(candidate)
        if (!result.success) throw new RowError(describeIssues(result.error))
        valid.push(result.data)
      }
      seen.add(customerId)
      events.push(...valid)
    } catch (error) {
      if (!(error instanceof RowError)) throw error
      rejected.push({ line, reason: error.message })
    }
  })
  events.sort((a, b) => a.event_time - b.event_time)
  return { events, customers: seen.size, rejected }
}
