import { ChurnError, ErrorCodes } from '../../core/errors.js'

export interface PublishReceipt {
  event_id: string
  customer_id: string
}

/** The event breaks the contract; retrying the same event cannot help. */
export class PublishValidationError extends ChurnError {
  /** `path: message` per problem; for a batch, prefixed with the event's index. */
  readonly problems: string[]

  constructor(problems: string[]) {
    super(ErrorCodes.VALIDATION, `invalid event: ${problems.join('; ')}`, { canRetry: false, details: { problems } })
    this.name = 'PublishValidationError'
    this.problems = problems
  }
}

/** Kafka or the registry failed; `canRetry` says whether publishing the same event later can succeed. */
export class PublishTransportError extends ChurnError {
  constructor(message: string, canRetry: boolean, cause: unknown) {
    super(ErrorCodes.TRANSPORT, message, { canRetry, cause })
    this.name = 'PublishTransportError'
  }
}
