/**
 * Errors raised by the platform carry a stable code and say whether retrying can help,
 * so retry loops read `canRetry` instead of guessing from messages.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  VALIDATION: 'VALIDATION',
  TRANSPORT: 'TRANSPORT',
  TIMEOUT: 'TIMEOUT',
  CLOSED: 'CLOSED',
  SHUTDOWN_TIMEOUT: 'SHUTDOWN_TIMEOUT',
  TRANSACTION_ABORTED: 'TRANSACTION_ABORTED',
  STACK_UNSUPPORTED: 'STACK_UNSUPPORTED',
  STACK_SERVICE_FAILED: 'STACK_SERVICE_FAILED',
  SCHEMA_INCOMPATIBLE: 'SCHEMA_INCOMPATIBLE',
  SCHEMA_UNKNOWN: 'SCHEMA_UNKNOWN',
  DECODE: 'DECODE',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export interface ChurnErrorOptions {
  canRetry?: boolean
  cause?: unknown
  details?: Record<string, unknown>
}

export class ChurnError extends Error {
  readonly code: ErrorCode
  readonly canRetry: boolean
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: ChurnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ChurnError'
    this.code = code
    this.canRetry = options.canRetry ?? false
    this.details = options.details ?? {}
  }
}

export function isChurnError(error: unknown, code?: ErrorCode): error is ChurnError {
  return error instanceof ChurnError && (code === undefined || error.code === code)
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
