/**
 * Which input partitions to mark idle, in processing time. An input is idle once it delivered nothing for `idleMs`
 * while the role kept receiving batches: silence counts only from the start of the current run of activity (a gap of
 * `idleMs` or more between batches starts a new one). Otherwise, after a quiet spell, the first batch of a burst would
 * find every other input silent, mark them all idle, and move the watermark past their records still on the way, which
 * would then all be late.
 */
export class IdleInputs {
  readonly idleMs: number
  readonly #lastSeen = new Map<string, number>()
  #activeSince: number
  #lastBatch: number

  constructor(idleMs: number, now: number) {
    if (!(Number.isFinite(idleMs) && idleMs > 0)) throw new RangeError(`idle time must be positive, got ${idleMs}`)
    this.idleMs = idleMs
    this.#activeSince = now
    this.#lastBatch = now
  }

  /** A batch of `input` arrived at `now`: the other `inputs` that have gone idle (every time, while they stay idle). */
  batch(input: string, now: number, inputs: Iterable<string>): string[] {
    if (now - this.#lastBatch >= this.idleMs) this.#activeSince = now
    this.#lastBatch = Math.max(this.#lastBatch, now)
    this.#lastSeen.set(input, now)
    const idle: string[] = []
    for (const other of inputs) {
      if (other === input) continue
      const since = Math.max(this.#lastSeen.get(other) ?? Number.NEGATIVE_INFINITY, this.#activeSince)
      if (now - since >= this.idleMs) idle.push(other)
    }
    return idle
  }
}
