export type TrainerState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed'

/**
 * How a run ended: the challenger `promoted` or `rejected` by the gate (both registered), `skipped` because the data
 * cannot support a model, `failed` on an error (retried after the cooldown, up to `maxAttempts`), or `aborted` by a
 * shutdown (its requests are not committed, so a restarted trainer runs them again), or `waiting` for data the store
 * does not hold yet (no training happened; it is taken again later).
 */
export type RunOutcome = 'promoted' | 'rejected' | 'skipped' | 'failed' | 'aborted' | 'waiting'

/** A consumed `RetrainRequest`, as far as the trainer needs it. */
export interface RetrainRequestInfo {
  readonly id: string
  readonly reason: string
  /** Event time the request was raised at: a run whose training data reaches it covers it. */
  readonly eventTime: number
  /**
   * For drift and performance requests, the start of the earliest window of their evidence: when the data the
   * champion was trained on stopped describing the customers. Such a run trains on data from there on.
   */
  readonly driftFrom?: number
  readonly partition: number
  readonly offset: string
}
