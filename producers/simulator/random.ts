import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'

export type { RandomGenerator }

/** Salts that keep the independent random streams of one simulation apart. */
export const Streams = {
  customer: 0x1,
  arrivals: 0x2,
  drift: 0x10,
  selection: 0x20,
  observation: 0x30,
} as const

const twoPow32 = 0x1_0000_0000
const invTwoPow32 = 1 / twoPow32

/** murmur3's finaliser: a bijection on 32-bit words with full avalanche. */
function fmix32(input: number): number {
  let h = input | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85eb_ca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2_ae35)
  h ^= h >>> 16
  return h
}

/** A 32-bit hash of (seed, stream, index, word); seeds up to 2^53 keep their high bits. */
function hashWords(seed: number, salt: number, index: number, word: number): number {
  const low = seed % twoPow32
  const high = Math.floor(seed / twoPow32)
  let h = fmix32(low ^ 0x9e37_79b9)
  h = fmix32(h ^ high ^ 0x7f4a_7c15)
  h = fmix32(h ^ Math.imul(salt, 0x2545_f491))
  h = fmix32(h ^ index)
  return fmix32(h ^ Math.imul(word + 1, 0x27d4_eb2f))
}

/**
 * An independent generator per (seed, salt, index): a customer's draws never depend on how many draws
 * other customers made, so the simulation does not depend on the order customers are processed in.
 */
export function streamFor(seed: number, salt: number, index: number): RandomGenerator {
  const state = [hashWords(seed, salt, index, 0), hashWords(seed, salt, index, 1), hashWords(seed, salt, index, 2), hashWords(seed, salt, index, 3)]
  // xoroshiro's all-zero state is a fixed point.
  if (!state.some((word) => word !== 0)) state[0] = 1
  return xoroshiro128plusFromState(state)
}

/** A uniform in [0, 1) from (seed, salt, index), without a generator: for one-off choices such as drift selection. */
export function hashUniform(seed: number, salt: number, index: number): number {
  return (hashWords(seed, salt, index, 7) >>> 0) * invTwoPow32
}

/** Uniform in [0, 1) with 32 bits: plenty for a simulation, and one draw instead of two. */
export function uniform(rng: RandomGenerator): number {
  return (rng.next() >>> 0) * invTwoPow32
}

/** Poisson by multiplication of uniforms, in chunks so exp(-mean) never underflows. */
export function poisson(rng: RandomGenerator, mean: number): number {
  let count = 0
  let remaining = mean
  while (remaining > 0) {
    const chunk = remaining > 30 ? 30 : remaining
    remaining -= chunk
    const limit = Math.exp(-chunk)
    let product = uniform(rng)
    while (product > limit) {
      count++
      product *= uniform(rng)
    }
  }
  return count
}

/** Index drawn from cumulative weights (last entry is the total). */
export function pickCumulative(rng: RandomGenerator, cumulative: readonly number[]): number {
  const last = cumulative.length - 1
  const target = uniform(rng) * (cumulative[last] ?? 0)
  for (let index = 0; index < last; index++) {
    if (target < (cumulative[index] ?? 0)) return index
  }
  return last
}

export function cumulative(weights: readonly number[]): number[] {
  let total = 0
  return weights.map((weight) => (total += weight))
}

/** ASCII hex digits of each byte, two per byte. */
const hexDigits = new Uint8Array(512)
for (let byte = 0; byte < 256; byte++) {
  const text = byte.toString(16).padStart(2, '0')
  hexDigits[2 * byte] = text.charCodeAt(0)
  hexDigits[2 * byte + 1] = text.charCodeAt(1)
}
/** Where each of the 16 bytes goes in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`; the dashes stay. */
const uuidPositions = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] as const
const uuidScratch = Buffer.alloc(36, '-')

function putWord(word: number, firstByte: number): void {
  for (let shift = 24, byte = firstByte; shift >= 0; shift -= 8, byte++) {
    const value = (word >>> shift) & 0xff
    const at = uuidPositions[byte] ?? 0
    uuidScratch[at] = hexDigits[2 * value] ?? 0
    uuidScratch[at + 1] = hexDigits[2 * value + 1] ?? 0
  }
}

/**
 * A version-4-formatted UUID from four draws of the seeded generator (not crypto: ids must replay). Written into
 * a scratch buffer and decoded once, which gives one flat string instead of a tree of concatenations.
 */
export function uuidFrom(rng: RandomGenerator): string {
  putWord(rng.next(), 0)
  putWord((rng.next() & 0xffff_0fff) | 0x0000_4000, 4)
  putWord((rng.next() & 0x3fff_ffff) | 0x8000_0000, 8)
  putWord(rng.next(), 12)
  return uuidScratch.toString('latin1', 0, 36)
}
