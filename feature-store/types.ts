import type { EventType } from '../schemas/events.js'
import type { EventRow } from './offline/rows.js'

/** Events a feature reads: some types, optionally only rows whose column equals (or differs from) a value. */
export interface Source {
  types: readonly EventType[]
  where?: readonly { column: keyof EventRow; equals?: string | number; notEquals?: string | number }[]
}

/** A number read from an event row, defined once for both stores: TypeScript for Redis, SQL for ClickHouse. */
export interface Field {
  name: string
  value: (row: EventRow) => number
  /** The same value as a ClickHouse expression over `customer_events` columns. */
  sql: string
}

/** Days of event time ending at the as-of day, or the customer's whole history. */
export type Window = number | 'lifetime'

export type Aggregation =
  | { kind: 'count'; source: Source; window: Window }
  | { kind: 'sum' | 'mean' | 'max'; source: Source; field: Field; window: Window }
  | { kind: 'distinct_days'; source: Source; window: number }
  | { kind: 'last' | 'first'; source: Source; field: Field }
  | { kind: 'days_since_last' | 'days_since_first'; source: Source }
  /** Support tickets whose latest event leaves them unresolved: how many, or the worst `field` among them. */
  | { kind: 'open_tickets' }
  | { kind: 'open_tickets_max'; field: Field }
  /** numerator / denominator x scale, both other features declared earlier. */
  | { kind: 'ratio'; numerator: string; denominator: string; scale?: number }

export interface FeatureDeclaration {
  name: string
  description: string
  aggregation: Aggregation
  /** The value when the customer has no qualifying event (or a ratio's denominator is 0). */
  default: number
  owner: string
}
