import { Metadata, status, type StatusObject } from '@grpc/grpc-js'
import { errorMessage } from '../../core/errors.js'
import type { Logger } from '../../core/logger.js'

/** A failure the gateway reports with a gRPC status code; `field` names the request field at fault. */
export class GatewayError extends Error {
  readonly code: status
  readonly field: string | undefined

  constructor(code: status, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(options.field === undefined ? message : `${options.field}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
    this.field = options.field
  }
}

export function invalidArgument(field: string, message: string): GatewayError {
  return new GatewayError(status.INVALID_ARGUMENT, message, { field })
}

/** `OK`, `NOT_FOUND`, ...: the code's name, as metrics and logs label it. */
export function statusName(code: status): string {
  return status[code]
}

/** The status a failed call ends with; anything unexpected is INTERNAL (logged, details not leaked). */
export function toStatus(error: unknown, logger: Logger, method: string): Partial<StatusObject> & { code: status } {
  if (error instanceof GatewayError) {
    const metadata = new Metadata()
    if (error.field !== undefined) metadata.set('churn-field', error.field)
    return { code: error.code, details: error.message, metadata }
  }
  logger.error({ err: error, method }, `gateway call failed: ${errorMessage(error)}`)
  return { code: status.INTERNAL, details: `internal error in ${method}`, metadata: new Metadata() }
}
