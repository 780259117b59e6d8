import { DAY_MS, type FeatureSet } from '../feature-set.js'
import type { FeatureDeclaration, Source, Window } from '../types.js'

const quote = (value: string | number): string => (typeof value === 'number' ? String(value) : `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`)

/** A source's condition over `customer_events` columns (constants from the declarations, never user input). */
function sourceCondition(source: Source): string {
  const parts = [`e.type IN (${source.types.map(quote).join(', ')})`]
  for (const condition of source.where ?? []) {
    if (condition.equals !== undefined) parts.push(`e.${condition.column} = ${quote(condition.equals)}`)
    if (condition.notEquals !== undefined) parts.push(`e.${condition.column} != ${quote(condition.notEquals)}`)
  }
  return parts.join(' AND ')
}

function windowCondition(window: Window): string {
  return window === 'lifetime' ? '' : ` AND e.day > intDiv(o.as_of, ${DAY_MS}) - ${window}`
}

const order = '(e.t, e.src_partition, e.src_offset)'

function featureExpression(feature: FeatureDeclaration): string {
  const a = feature.aggregation
  const fallback = String(feature.default)
  const inScope = 'e.matched = 1 AND e.t <= o.as_of'
  switch (a.kind) {
    case 'count': {
      return `countIf(${inScope} AND ${sourceCondition(a.source)}${windowCondition(a.window)})`
    }
    case 'distinct_days': {
      return `uniqExactIf(e.day, ${inScope} AND ${sourceCondition(a.source)}${windowCondition(a.window)})`
    }
    case 'sum':
    case 'mean':
    case 'max': {
      const condition = `${inScope} AND ${sourceCondition(a.source)}${windowCondition(a.window)}`
      const aggregate = a.kind === 'sum' ? `sumIf(toFloat64(${a.field.sql}), ${condition})` : a.kind === 'mean' ? `sumIf(toFloat64(${a.field.sql}), ${condition}) / countIf(${condition})` : `maxIf(toFloat64(${a.field.sql}), ${condition})`
      return `if(countIf(${condition}) = 0, ${fallback}, ${aggregate})`
    }
    case 'last':
    case 'first': {
      const condition = `${inScope} AND ${sourceCondition(a.source)}`
      return `if(countIf(${condition}) = 0, ${fallback}, ${a.kind === 'last' ? 'argMaxIf' : 'argMinIf'}(toFloat64(${a.field.sql}), ${order}, ${condition}))`
    }
    case 'days_since_last':
    case 'days_since_first': {
      const condition = `${inScope} AND ${sourceCondition(a.source)}`
      return `if(countIf(${condition}) = 0, ${fallback}, (o.as_of - ${a.kind === 'days_since_last' ? 'maxIf' : 'minIf'}(e.t, ${condition})) / ${DAY_MS})`
    }
    case 'open_tickets':
      return 'any(tk.open_tickets)'
    case 'open_tickets_max':
      return `if(any(tk.open_tickets) = 0, ${fallback}, any(tk.worst_${a.field.name}))`
    case 'ratio':
      // Computed in the outer query from the two operands.
      return 'NULL'
  }
}

/**
 * The feature set compiled to one ClickHouse query over `customer_events`: every feature of every
 * observation (customer, as-of time) from the raw events known at that time. Mirrors the online path:
 * replayed records collapse (FINAL), an event later than the allowed lateness against the newest
 * event that arrived before it is ignored, windows are whole days ending at the as-of day, and
 * "last"/"first" order by event time then arrival.
 *
 * The observations come from the table named by `observationsTable` (customer_id String,
 * as_of Int64 milliseconds).
 */
export function featureQuery(featureSet: FeatureSet, observationsTable: string): string {
  const openFields = featureSet.declarations.flatMap((feature) => (feature.aggregation.kind === 'open_tickets_max' ? [feature.aggregation.field] : []))
  const inner = featureSet.declarations
    .filter((feature) => feature.aggregation.kind !== 'ratio')
    .map((feature) => `${featureExpression(feature)} AS \`f_${feature.name}\``)
  const outer = featureSet.declarations.map((feature) => {
    const a = feature.aggregation
    // Inner columns are prefixed so that no alias shadows an event column a field expression reads.
    if (a.kind !== 'ratio') return `\`f_${feature.name}\` AS \`${feature.name}\``
    return `if(\`f_${a.denominator}\` = 0, ${feature.default}, \`f_${a.numerator}\` / \`f_${a.denominator}\` * ${a.scale ?? 1}) AS \`${feature.name}\``
  })
  return `
WITH
  observed AS (SELECT DISTINCT customer_id FROM ${observationsTable}),
  arrivals AS (
    SELECT *,
      toUnixTimestamp64Milli(event_time) AS t,
      intDiv(toUnixTimestamp64Milli(event_time), ${DAY_MS}) AS day,
      max(toUnixTimestamp64Milli(event_time)) OVER (PARTITION BY customer_id ORDER BY src_partition, src_offset ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newest_before
    FROM customer_events FINAL
    WHERE customer_id IN (SELECT customer_id FROM observed)
  ),
  accepted AS (SELECT *, 1 AS matched FROM arrivals WHERE newest_before = 0 OR t >= newest_before - ${featureSet.allowedLatenessMs}),
  tickets AS (
    SELECT o.customer_id AS customer_id, o.as_of AS as_of, e.ticket_id AS ticket_id,
      argMax(e.resolved, ${order}) AS resolved
      ${openFields.map((field) => `, argMax(toFloat64(${field.sql}), ${order}) AS value_${field.name}`).join('')}
    FROM ${observationsTable} AS o INNER JOIN accepted AS e ON e.customer_id = o.customer_id
    WHERE e.type = 'support_ticket' AND e.t <= o.as_of
    GROUP BY o.customer_id, o.as_of, e.ticket_id
  ),
  open AS (
    SELECT customer_id, as_of, countIf(resolved = 0) AS open_tickets
      ${openFields.map((field) => `, maxIf(value_${field.name}, resolved = 0) AS worst_${field.name}`).join('')}
    FROM tickets GROUP BY customer_id, as_of
  ),
  features AS (
    SELECT o.customer_id AS customer_id, o.as_of AS as_of,
      ${inner.join(',\n      ')}
    FROM ${observationsTable} AS o
    LEFT JOIN accepted AS e ON e.customer_id = o.customer_id
    LEFT JOIN open AS tk ON tk.customer_id = o.customer_id AND tk.as_of = o.as_of
    GROUP BY o.customer_id, o.as_of
  )
SELECT customer_id, as_of, ${outer.join(', ')}
FROM features
ORDER BY customer_id, as_of
SETTINGS join_use_nulls = 0`
}
