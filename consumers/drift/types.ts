/** Lifecycle of the drift role. */
export type DriftRoleState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped'

/**
 * What became of one consumed record: `applied` (counted in a window, or a cancellation kept as a label), `observed`
 * (a customer event other than a cancellation: it only moves the watermark), `late` (its window, or its cohort, had
 * closed), `skipped` (no reference yet, a vector of another feature set or length, a rules or base-rate score),
 * `dead_lettered` (undecodable or breaking the contract).
 */
export type RecordOutcome = 'applied' | 'observed' | 'late' | 'skipped' | 'dead_lettered'
