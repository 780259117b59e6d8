import type { EventRow } from './offline/rows.js'
import type { FeatureDeclaration, Field, Source } from './types.js'

const column = (name: keyof EventRow): Field => ({ name, sql: name, value: (row) => Number(row[name] ?? 0) })

export const fields = {
  sessions: column('sessions'),
  minutes: column('minutes'),
  dataMb: column('data_mb'),
  amount: column('amount'),
  monthlyCharge: column('monthly_charge'),
  paperless: column('paperless_billing'),
  senior: column('senior'),
  partner: column('partner'),
  dependents: column('dependents'),
  contractMonths: {
    name: 'contract_months',
    sql: "multiIf(contract = 'one_year', 12, contract = 'two_year', 24, 0)",
    value: (row) => (row.contract === 'one_year' ? 12 : row.contract === 'two_year' ? 24 : 0),
  },
  monthToMonth: { name: 'month_to_month', sql: "toUInt8(contract = 'month_to_month')", value: (row) => (row.contract === 'month_to_month' ? 1 : 0) },
  electronicCheck: { name: 'electronic_check', sql: "toUInt8(payment_method = 'electronic_check')", value: (row) => (row.payment_method === 'electronic_check' ? 1 : 0) },
  servicesCount: { name: 'services_count', sql: 'length(services)', value: (row) => row.services?.length ?? 0 },
  fiber: { name: 'fiber', sql: "toUInt8(has(services, 'internet_fiber'))", value: (row) => (row.services?.includes('internet_fiber') === true ? 1 : 0) },
  severityRank: {
    name: 'severity_rank',
    sql: "multiIf(severity = 'low', 1, severity = 'medium', 2, severity = 'high', 3, severity = 'critical', 4, 0)",
    value: (row) => ({ low: 1, medium: 2, high: 3, critical: 4 })[row.severity ?? ''] ?? 0,
  },
} satisfies Record<string, Field>

export const sources = {
  signup: { types: ['signup'] },
  account: { types: ['signup', 'plan_change'] },
  paymentMethodSet: { types: ['signup', 'plan_change'], where: [{ column: 'payment_method', notEquals: '' }] },
  planChange: { types: ['plan_change'] },
  usage: { types: ['usage'] },
  payment: { types: ['payment'] },
  paidPayment: { types: ['payment'], where: [{ column: 'status', equals: 'paid' }] },
  failedPayment: { types: ['payment'], where: [{ column: 'status', equals: 'failed' }] },
  latePayment: { types: ['payment'], where: [{ column: 'status', equals: 'late' }] },
  ticketOpened: { types: ['support_ticket'], where: [{ column: 'resolved', equals: 0 }] },
} satisfies Record<string, Source>

const owner = 'churn-platform'

/**
 * The churn feature set, in vector order. Windows are whole days of event time ending at the
 * as-of day; "last" and "first" order events by event time, then by arrival.
 */
export const churnFeatures: readonly FeatureDeclaration[] = [
  { name: 'tenure_days', description: 'Days since signup.', aggregation: { kind: 'days_since_first', source: sources.signup }, default: 0, owner },
  { name: 'contract_months', description: 'Contract length in months (0 = month to month).', aggregation: { kind: 'last', source: sources.account, field: fields.contractMonths }, default: 0, owner },
  { name: 'is_month_to_month', description: '1 when on a month-to-month contract.', aggregation: { kind: 'last', source: sources.account, field: fields.monthToMonth }, default: 1, owner },
  { name: 'pays_by_electronic_check', description: '1 when the current payment method is electronic check.', aggregation: { kind: 'last', source: sources.paymentMethodSet, field: fields.electronicCheck }, default: 0, owner },
  { name: 'paperless_billing', description: '1 when billed paperless.', aggregation: { kind: 'last', source: sources.signup, field: fields.paperless }, default: 0, owner },
  { name: 'is_senior', description: '1 for senior customers.', aggregation: { kind: 'last', source: sources.signup, field: fields.senior }, default: 0, owner },
  { name: 'has_partner', description: '1 when the customer has a partner.', aggregation: { kind: 'last', source: sources.signup, field: fields.partner }, default: 0, owner },
  { name: 'has_dependents', description: '1 when the customer has dependents.', aggregation: { kind: 'last', source: sources.signup, field: fields.dependents }, default: 0, owner },
  { name: 'services_count', description: 'Number of services subscribed.', aggregation: { kind: 'last', source: sources.account, field: fields.servicesCount }, default: 0, owner },
  { name: 'has_fiber', description: '1 with fiber internet.', aggregation: { kind: 'last', source: sources.account, field: fields.fiber }, default: 0, owner },
  { name: 'monthly_charge', description: 'Current monthly charge.', aggregation: { kind: 'last', source: sources.account, field: fields.monthlyCharge }, default: 0, owner },
  { name: 'signup_monthly_charge', description: 'Monthly charge at signup.', aggregation: { kind: 'first', source: sources.account, field: fields.monthlyCharge }, default: 0, owner },
  { name: 'charge_vs_signup', description: 'Current monthly charge relative to the charge at signup.', aggregation: { kind: 'ratio', numerator: 'monthly_charge', denominator: 'signup_monthly_charge' }, default: 1, owner },
  { name: 'plan_changes_90d', description: 'Plan changes in the last 90 days.', aggregation: { kind: 'count', source: sources.planChange, window: 90 }, default: 0, owner },
  { name: 'total_paid', description: 'Lifetime amount paid.', aggregation: { kind: 'sum', source: sources.paidPayment, field: fields.amount, window: 'lifetime' }, default: 0, owner },
  { name: 'payment_mean_30d', description: 'Mean payment amount over 30 days.', aggregation: { kind: 'mean', source: sources.payment, field: fields.amount, window: 30 }, default: 0, owner },
  { name: 'payment_mean_90d', description: 'Mean payment amount over 90 days.', aggregation: { kind: 'mean', source: sources.payment, field: fields.amount, window: 90 }, default: 0, owner },
  { name: 'payments_90d', description: 'Payment attempts in the last 90 days.', aggregation: { kind: 'count', source: sources.payment, window: 90 }, default: 0, owner },
  { name: 'failed_payments_30d', description: 'Failed payments in the last 30 days.', aggregation: { kind: 'count', source: sources.failedPayment, window: 30 }, default: 0, owner },
  { name: 'failed_payments_90d', description: 'Failed payments in the last 90 days.', aggregation: { kind: 'count', source: sources.failedPayment, window: 90 }, default: 0, owner },
  { name: 'late_payments_90d', description: 'Late payments in the last 90 days.', aggregation: { kind: 'count', source: sources.latePayment, window: 90 }, default: 0, owner },
  { name: 'failed_payment_ratio_90d', description: 'Share of payment attempts that failed, 90 days.', aggregation: { kind: 'ratio', numerator: 'failed_payments_90d', denominator: 'payments_90d' }, default: 0, owner },
  { name: 'days_since_paid', description: 'Days since the last successful payment.', aggregation: { kind: 'days_since_last', source: sources.paidPayment }, default: 60, owner },
  { name: 'sessions_7d', description: 'Sessions in the last 7 days.', aggregation: { kind: 'sum', source: sources.usage, field: fields.sessions, window: 7 }, default: 0, owner },
  { name: 'sessions_30d', description: 'Sessions in the last 30 days.', aggregation: { kind: 'sum', source: sources.usage, field: fields.sessions, window: 30 }, default: 0, owner },
  { name: 'minutes_7d', description: 'Minutes of use in the last 7 days.', aggregation: { kind: 'sum', source: sources.usage, field: fields.minutes, window: 7 }, default: 0, owner },
  { name: 'minutes_30d', description: 'Minutes of use in the last 30 days.', aggregation: { kind: 'sum', source: sources.usage, field: fields.minutes, window: 30 }, default: 0, owner },
  { name: 'data_mb_30d', description: 'Data used in the last 30 days (MB).', aggregation: { kind: 'sum', source: sources.usage, field: fields.dataMb, window: 30 }, default: 0, owner },
  { name: 'active_days_30d', description: 'Days with any usage in the last 30 days.', aggregation: { kind: 'distinct_days', source: sources.usage, window: 30 }, default: 0, owner },
  { name: 'usage_trend_7_30', description: 'Sessions in the last 7 days against the 30-day weekly rate (1 = steady, < 1 = declining).', aggregation: { kind: 'ratio', numerator: 'sessions_7d', denominator: 'sessions_30d', scale: 30 / 7 }, default: 1, owner },
  { name: 'days_since_usage', description: 'Days since the last usage.', aggregation: { kind: 'days_since_last', source: sources.usage }, default: 90, owner },
  { name: 'tickets_30d', description: 'Support tickets opened in the last 30 days.', aggregation: { kind: 'count', source: sources.ticketOpened, window: 30 }, default: 0, owner },
  { name: 'tickets_90d', description: 'Support tickets opened in the last 90 days.', aggregation: { kind: 'count', source: sources.ticketOpened, window: 90 }, default: 0, owner },
  { name: 'max_ticket_severity_90d', description: 'Worst severity opened in 90 days (0 none, 1 low ... 4 critical).', aggregation: { kind: 'max', source: sources.ticketOpened, field: fields.severityRank, window: 90 }, default: 0, owner },
  { name: 'open_tickets', description: 'Tickets opened and not resolved.', aggregation: { kind: 'open_tickets' }, default: 0, owner },
  { name: 'worst_open_ticket_severity', description: 'Worst severity among unresolved tickets.', aggregation: { kind: 'open_tickets_max', field: fields.severityRank }, default: 0, owner },
]
