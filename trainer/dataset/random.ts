import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

/** A seeded generator: the same seed gives the same sequence on every platform. */
export class SeededRandom {
  readonly #rng: RandomGenerator

  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed | 0)
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.#rng)
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return uniformInt(this.#rng, 0, n - 1)
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.float()
    const v = this.float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Shuffles in place (Fisher-Yates). */
  shuffle<T extends { length: number; [index: number]: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const swap = values[i] ?? 0
      values[i] = values[j] ?? 0
      values[j] = swap
    }
    return values
  }

  /** `k` distinct indices of [0, n), ascending (selection sampling keeps the order, which keeps memory access sequential). */
  sampleSorted(n: number, k: number): Int32Array {
    const out = new Int32Array(k)
    let needed = k
    let filled = 0
    for (let i = 0; i < n && needed > 0; i++) {
      if (this.float() * (n - i) < needed) {
        out[filled++] = i
        needed--
      }
    }
    return out
  }
}
