import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { importSnapshots, loadMapping } from '../../producers/import/index.js'
import type { EventOf } from '../../schemas/events.js'

const mapping = loadMapping(join(projectRoot, 'producers', 'import', 'mappings', 'telco.json'))
const csv = readFileSync(join(projectRoot, 'tests', 'unit', 'fixtures', 'telco-sample.csv'), 'utf8')
const snapshot = Date.parse('2026-01-01T00:00:00Z')

describe('CSV snapshot import', () => {
  const result = importSnapshots(csv, mapping)
  const of = (customer: string): typeof result.events => result.events.filter((event) => event.customer_id === customer)

  it('reports each row it cannot map, with its line and reason, and imports the rest', () => {
    expect(result.customers).toBe(5)
    expect(result.rejected).toEqual([
      { line: 7, reason: 'Contract "Ten year" is not one of "Month-to-month", "One year", "Two year"' },
      { line: 8, reason: 'tenure "abc" is not a valid number of months' },
      { line: 9, reason: 'MonthlyCharges "-3" is not a valid amount' },
      { line: 10, reason: 'customer 5575-GNVDE appears more than once' },
    ])
  })

  it('back-dates a signup by the tenure, pays every month to the lifetime total, and cancels churned customers', () => {
    const events = of('5575-GNVDE')
    const [signup] = events as [EventOf<'signup'>]
    expect(signup.type).toBe('signup')
    expect(signup.event_time).toBe(snapshot - 34 * 30 * 86_400_000)
    expect(signup.payload).toMatchObject({ contract: 'one_year', payment_method: 'mailed_check', monthly_charge: 56.95, services: ['phone', 'internet_dsl', 'online_security', 'device_protection'] })
    const payments = events.filter((event): event is EventOf<'payment'> => event.type === 'payment')
    expect(payments).toHaveLength(34)
    expect(payments.reduce((sum, payment) => sum + payment.payload.amount, 0)).toBeCloseTo(1889.5, 0)
    expect(events.some((event) => event.type === 'cancellation')).toBe(false)

    const churned = of('9237-HQITU')
    expect(churned.map((event) => event.type)).toEqual(['signup', 'payment', 'payment', 'cancellation'])
    expect(churned.at(-1)?.event_time).toBeLessThan(snapshot)
  })

  it('keeps event times consistent and in order, and ids stable across imports', () => {
    for (let i = 1; i < result.events.length; i += 1) expect(result.events[i]?.event_time).toBeGreaterThanOrEqual(result.events[i - 1]?.event_time ?? 0)
    expect(result.events.every((event) => event.event_time <= snapshot)).toBe(true)
    const newCustomer = of('4472-LVYGI')
    expect(newCustomer.map((event) => event.type)).toEqual(['signup'])
    expect(importSnapshots(csv, mapping).events.map((event) => event.event_id)).toEqual(result.events.map((event) => event.event_id))
  })

  it('refuses a mapping file that does not follow the mapping schema', () => {
    expect(() => loadMapping(join(projectRoot, 'package.json'))).toThrow(/invalid mapping .*snapshot_time/u)
  })
})
