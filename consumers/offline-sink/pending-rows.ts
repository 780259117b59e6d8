export interface CommitPosition {
  partition: number
  /** The offset to commit: the next record to consume. */
  offset: string
}

interface Mark {
  /** Rows appended up to and including this batch; the mark holds once that many rows are settled. */
  seq: number
  partition: number
  offset: bigint
}

/**
 * The rows of one topic waiting to be inserted, in consumption order, and which offsets become safe
 * to commit as they are settled (inserted or dead-lettered). Rows are settled strictly from the
 * front, so a partition's offset is committable once every row consumed before it is settled: an
 * offset is never committed ahead of a row that is not yet in ClickHouse.
 */
export class PendingRows<T> {
  #items: T[] = []
  #appended = 0
  #settled = 0
  readonly #marks: Mark[] = []
  readonly #committable = new Map<number, bigint>()
  readonly #committed = new Map<number, bigint>()

  get size(): number {
    return this.#items.length
  }

  /**
   * Adds the usable rows of one consumed batch. `commitOffset` is where the partition may be committed
   * to once these rows (and all before them) are settled; a batch of only bad records adds no rows.
   */
  append(partition: number, items: readonly T[], commitOffset: string): void {
    for (const item of items) this.#items.push(item)
    this.#appended += items.length
    this.#marks.push({ seq: this.#appended, partition, offset: BigInt(commitOffset) })
    this.#release()
  }

  /** The oldest `count` rows, still pending. */
  peek(count: number): T[] {
    return this.#items.slice(0, count)
  }

  /** Drops the oldest `count` rows, now inserted or dead-lettered. */
  settle(count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > this.#items.length) {
      throw new RangeError(`cannot settle ${count} of ${this.#items.length} pending rows`)
    }
    this.#items = this.#items.slice(count)
    this.#settled += count
    this.#release()
  }

  /** Positions that became committable and were not committed yet, one per partition. */
  uncommitted(): CommitPosition[] {
    const positions: CommitPosition[] = []
    for (const [partition, offset] of this.#committable) {
      const committed = this.#committed.get(partition)
      if (committed === undefined || offset > committed) positions.push({ partition, offset: offset.toString() })
    }
    return positions.sort((a, b) => a.partition - b.partition)
  }

  /** Records a successful commit, so the same positions are not committed again. */
  committed(positions: readonly CommitPosition[]): void {
    for (const { partition, offset } of positions) {
      const value = BigInt(offset)
      const previous = this.#committed.get(partition)
      if (previous === undefined || value > previous) this.#committed.set(partition, value)
    }
  }

  #release(): void {
    while (this.#marks.length > 0) {
      const mark = this.#marks[0]
      if (mark === undefined || mark.seq > this.#settled) break
      this.#marks.shift()
      // After a rebalance a partition can be consumed again from an earlier offset; the position
      // only ever moves forward, so what was committable stays committable.
      const current = this.#committable.get(mark.partition)
      if (current === undefined || mark.offset > current) this.#committable.set(mark.partition, mark.offset)
    }
  }
}
