import { errorMessage } from '../../core/errors.js'
import type { InsertFailure } from './types.js'

/** ClickHouse refused a value in the data: another row would have gone in, so the culprits are dead-lettered. */
const rowLevel = new Set([
  'VIOLATED_CONSTRAINT',
  'CANNOT_PARSE_TEXT',
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  'CANNOT_PARSE_QUOTED_STRING',
  'CANNOT_PARSE_ESCAPE_SEQUENCE',
  'CANNOT_PARSE_DATE',
  'CANNOT_PARSE_DATETIME',
  'CANNOT_PARSE_NUMBER',
  'CANNOT_PARSE_UUID',
  'CANNOT_PARSE_BOOL',
  'CANNOT_READ_ARRAY_FROM_TEXT',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  'TOO_LARGE_STRING_SIZE',
  'TOO_LARGE_ARRAY_SIZE',
  'DECIMAL_OVERFLOW',
])

/** Retrying cannot help: credentials, permissions, or a table that does not have the columns the sink writes. */
const permanent = new Set([
  'AUTHENTICATION_FAILED',
  'REQUIRED_PASSWORD',
  'WRONG_PASSWORD',
  'UNKNOWN_USER',
  'ACCESS_DENIED',
  'NOT_ENOUGH_PRIVILEGES',
  'READONLY',
  'SYNTAX_ERROR',
  'UNKNOWN_FORMAT',
  'UNKNOWN_SETTING',
  'NO_SUCH_COLUMN_IN_TABLE',
  'THERE_IS_NO_COLUMN',
  'UNKNOWN_IDENTIFIER',
  'INCORRECT_NUMBER_OF_COLUMNS',
  // JSONEachRow names a field the table lacks.
  'INCORRECT_DATA',
])

interface CodedError {
  code?: unknown
  type?: unknown
}

/**
 * The ClickHouse error type of a server or engine error. Matched by shape, not `instanceof`: the
 * embedded engine's connection throws the class from its own copy of the client's common package.
 */
function clickHouseType(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, type } = error as CodedError
  if (typeof code !== 'string' || !/^\d+$/u.test(code)) return undefined
  return typeof type === 'string' && type !== '' ? type : `CODE_${code}`
}

/**
 * Classifies a failed insert. Anything not known to be permanent or row-specific is retried with a
 * capped backoff (an unknown table, a lost connection, too many parts, memory pressure, a timeout):
 * a sink that stopped on every unfamiliar error would need a human each time, while a retry costs
 * one insert per interval and loses nothing, since offsets are committed only after an insert.
 */
export function classifyInsertError(error: unknown): InsertFailure {
  const message = errorMessage(error)
  const code = clickHouseType(error)
  if (code !== undefined) {
    if (rowLevel.has(code)) return { kind: 'rejected', canRetry: false, code, message }
    if (permanent.has(code)) return { kind: 'fatal', canRetry: false, code, message }
    return { kind: 'transient', canRetry: true, code, message }
  }
  // A client that was closed under the sink never comes back: retrying would spin until shutdown.
  if (/\bis closed\b/iu.test(message)) return { kind: 'fatal', canRetry: false, code: 'CLIENT_CLOSED', message }
  const errno = typeof error === 'object' && error !== null ? (error as CodedError).code : undefined
  return { kind: 'transient', canRetry: true, code: typeof errno === 'string' && /^[A-Z0-9_]+$/u.test(errno) ? errno : 'UNKNOWN', message }
}

/**
 * The delay before retry `attempt` (0-based): exponential from `initialMs`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so that a fleet of sinks does not retry in lockstep while
 * each still waits at least half the step.
 */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
