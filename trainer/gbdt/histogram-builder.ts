import { Worker } from 'node:worker_threads'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { BinnedColumns } from './binning.js'
import {
  accumulate1,
  accumulate1Direct,
  accumulate4,
  accumulate4Direct,
  accumulateFeatures,
  gatherGradients,
  histogramLayout,
  type HistogramLayout,
} from './histogram.js'

/** Builds leaf histograms and owns the buffers the builds read: gradients, hessians and the row order of leaves. */
export interface HistogramBuilder {
  readonly layout: HistogramLayout
  /** Gradient and hessian of every row; the trainer writes them before each tree. */
  readonly gradient: Float64Array
  readonly hessian: Float64Array
  /** Rows of every leaf, leaf by leaf (the grower partitions it in place). */
  readonly rows: Int32Array
  acquire(): Float64Array
  release(histogram: Float64Array): void
  /** Histograms of `features` over `rows[begin .. end)` into `target` (from `acquire`). */
  build(target: Float64Array, features: Int32Array, begin: number, end: number, identity: boolean): void
  close(): void
}

/** Builds on the calling thread. */
class SerialHistogramBuilder implements HistogramBuilder {
  readonly layout: HistogramLayout
  readonly gradient: Float64Array
  readonly hessian: Float64Array
  readonly rows: Int32Array
  readonly #columns: readonly Uint8Array[]
  readonly #scratchGradient: Float64Array
  readonly #scratchHessian: Float64Array
  readonly #pool: Float64Array[] = []

  constructor(binned: BinnedColumns) {
    this.layout = histogramLayout(binned.numBins)
    this.#columns = binned.columns
    this.gradient = new Float64Array(binned.rows)
    this.hessian = new Float64Array(binned.rows)
    this.rows = new Int32Array(binned.rows)
    this.#scratchGradient = new Float64Array(binned.rows)
    this.#scratchHessian = new Float64Array(binned.rows)
  }

  acquire(): Float64Array {
    return this.#pool.pop() ?? new Float64Array(this.layout.length)
  }

  release(histogram: Float64Array): void {
    this.#pool.push(histogram)
  }

  build(target: Float64Array, features: Int32Array, begin: number, end: number, identity: boolean): void {
    const range = { rows: this.rows, begin, end, identity }
    if (!identity) gatherGradients(range, this.gradient, this.hessian, this.#scratchGradient, this.#scratchHessian)
    accumulateFeatures(
      target, this.layout.offsets, this.layout.numBins, this.#columns, features, 0, features.length, this.rows, begin, end - begin,
      identity, identity ? this.gradient : this.#scratchGradient, identity ? this.hessian : this.#scratchHessian,
    )
  }

  close(): void {
    this.#pool.length = 0
  }
}

// Control block of one worker's share (Int32 slots). Task g: CLAIM holds 2g until the worker or the calling thread
// takes the share (compare-exchange to 2g + 1); the worker stores g in DONE when it finished a share it took.
const GENERATION = 0
const DONE = 1
const STATUS = 2
const CLAIM = 3
const SLOT = 4
const BEGIN = 5
const END = 6
const IDENTITY = 7
const FROM = 8
const TO = 9
const CONTROL_SIZE = 16
const STATUS_FAILED = 1
const STATUS_STOP = 2

/** Below this many (row, feature) updates a build stays on the calling thread: waking a worker costs more. */
const PARALLEL_MIN_UPDATES = 200_000

/*
 * A worker is an eval'd script holding the source of the same kernels the calling thread runs, so every feature's
 * histogram is computed by identical code in identical order whichever thread does it: results do not depend on the
 * thread count or on who took a share. (A worker file would not exist when the trainer runs from TypeScript sources,
 * as in tests.) A worker that wakes late finds its share already claimed by the calling thread, so a busy machine
 * never leaves the trainer waiting for a descheduled worker.
 */
const WORKER_SOURCE = `
'use strict'
const { workerData } = require('node:worker_threads')
${[accumulateFeatures, accumulate4, accumulate4Direct, accumulate1, accumulate1Direct].map((kernel) => kernel.toString()).join('\n')}
const { control, features, columnsBuffer, rowCount, columnCount, rows, gradient, hessian, scratchGradient, scratchHessian,
  histograms, histogramLength, offsets, numBins } = workerData
const columns = Array.from({ length: columnCount }, (_, f) => new Uint8Array(columnsBuffer, f * rowCount, rowCount))
let seen = 0
for (;;) {
  Atomics.wait(control, ${GENERATION}, seen)
  seen = Atomics.load(control, ${GENERATION})
  if (Atomics.load(control, ${STATUS}) === ${STATUS_STOP}) break
  if (Atomics.compareExchange(control, ${CLAIM}, 2 * seen, 2 * seen + 1) !== 2 * seen) continue
  try {
    const target = new Float64Array(histograms, control[${SLOT}] * histogramLength * 8, histogramLength)
    const identity = control[${IDENTITY}] === 1
    const begin = control[${BEGIN}]
    accumulateFeatures(target, offsets, numBins, columns, features, control[${FROM}], control[${TO}], rows, begin,
      control[${END}] - begin, identity, identity ? gradient : scratchGradient, identity ? hessian : scratchHessian)
  } catch {
    Atomics.store(control, ${STATUS}, ${STATUS_FAILED})
  }
  Atomics.store(control, ${DONE}, seen)
  Atomics.notify(control, ${DONE})
}
`

/** Splits the features of every large build between the calling thread and `threads - 1` workers (shared memory). */
class ThreadedHistogramBuilder implements HistogramBuilder {
  readonly layout: HistogramLayout
  readonly gradient: Float64Array
  readonly hessian: Float64Array
  readonly rows: Int32Array
  readonly #columns: readonly Uint8Array[]
  readonly #scratchGradient: Float64Array
  readonly #scratchHessian: Float64Array
  readonly #histograms: SharedArrayBuffer
  readonly #free: Float64Array[] = []
  readonly #features: Int32Array
  readonly #workers: { readonly worker: Worker; readonly control: Int32Array }[] = []

  constructor(binned: BinnedColumns, slots: number, threads: number) {
    const columnsBuffer = binned.columns[0]?.buffer
    if (!(columnsBuffer instanceof SharedArrayBuffer)) {
      throw new ChurnError(ErrorCodes.VALIDATION, 'threaded histograms need binned columns in shared memory')
    }
    const shared = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(8, bytes))
    this.layout = histogramLayout(binned.numBins)
    this.#columns = binned.columns
    this.gradient = new Float64Array(shared(8 * binned.rows))
    this.hessian = new Float64Array(shared(8 * binned.rows))
    this.rows = new Int32Array(shared(4 * binned.rows))
    this.#scratchGradient = new Float64Array(shared(8 * binned.rows))
    this.#scratchHessian = new Float64Array(shared(8 * binned.rows))
    this.#histograms = shared(8 * this.layout.length * slots)
    for (let slot = slots - 1; slot >= 0; slot--) {
      this.#free.push(new Float64Array(this.#histograms, 8 * this.layout.length * slot, this.layout.length))
    }
    this.#features = new Int32Array(shared(4 * binned.columns.length))
    for (let index = 1; index < threads; index++) {
      const control = new Int32Array(shared(4 * CONTROL_SIZE))
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          control, features: this.#features, columnsBuffer, rowCount: binned.rows, columnCount: binned.columns.length,
          rows: this.rows, gradient: this.gradient, hessian: this.hessian, scratchGradient: this.#scratchGradient,
          scratchHessian: this.#scratchHessian, histograms: this.#histograms, histogramLength: this.layout.length,
          offsets: this.layout.offsets, numBins: this.layout.numBins,
        },
      })
      worker.unref()
      this.#workers.push({ worker, control })
    }
  }

  acquire(): Float64Array {
    return this.#free.pop() ?? new Float64Array(this.layout.length)
  }

  release(histogram: Float64Array): void {
    if (histogram.buffer === this.#histograms) this.#free.push(histogram)
  }

  build(target: Float64Array, features: Int32Array, begin: number, end: number, identity: boolean): void {
    const rows = end - begin
    const groups = Math.ceil(features.length / 4)
    if (target.buffer !== this.#histograms || rows * features.length < PARALLEL_MIN_UPDATES || groups < 2) {
      this.#buildHere(target, features, begin, end, identity)
      return
    }
    if (!identity) gatherGradients({ rows: this.rows, begin, end, identity }, this.gradient, this.hessian, this.#scratchGradient, this.#scratchHessian)
    this.#features.set(features)
    const threads = Math.min(this.#workers.length + 1, groups)
    // Whole groups of four features per thread; the calling thread takes the first share.
    const boundary = (share: number): number => Math.min(features.length, 4 * Math.round((groups * share) / threads))
    const slot = (target.byteOffset / 8) / this.layout.length
    const g = identity ? this.gradient : this.#scratchGradient
    const h = identity ? this.hessian : this.#scratchHessian
    const shares: { readonly control: Int32Array; readonly generation: number }[] = []
    for (let share = 1; share < threads; share++) {
      const control = this.#workers[share - 1]?.control
      if (control === undefined) break
      control[SLOT] = slot
      control[BEGIN] = begin
      control[END] = end
      control[IDENTITY] = identity ? 1 : 0
      control[FROM] = boundary(share)
      control[TO] = boundary(share + 1)
      const generation = Atomics.load(control, GENERATION) + 1
      Atomics.store(control, CLAIM, 2 * generation)
      Atomics.store(control, GENERATION, generation)
      Atomics.notify(control, GENERATION)
      shares.push({ control, generation })
    }
    accumulateFeatures(target, this.layout.offsets, this.layout.numBins, this.#columns, this.#features, 0, boundary(1), this.rows, begin, rows, identity, g, h)
    for (const { control, generation } of shares) {
      if (Atomics.compareExchange(control, CLAIM, 2 * generation, 2 * generation + 1) === 2 * generation) {
        // The worker has not started: do its share here rather than wait for it to be scheduled.
        accumulateFeatures(
          target, this.layout.offsets, this.layout.numBins, this.#columns, this.#features, control[FROM] ?? 0, control[TO] ?? 0,
          this.rows, begin, rows, identity, g, h,
        )
      } else {
        this.#await(control, generation)
      }
    }
  }

  #buildHere(target: Float64Array, features: Int32Array, begin: number, end: number, identity: boolean): void {
    const range = { rows: this.rows, begin, end, identity }
    if (!identity) gatherGradients(range, this.gradient, this.hessian, this.#scratchGradient, this.#scratchHessian)
    accumulateFeatures(
      target, this.layout.offsets, this.layout.numBins, this.#columns, features, 0, features.length, this.rows, begin, end - begin,
      identity, identity ? this.gradient : this.#scratchGradient, identity ? this.hessian : this.#scratchHessian,
    )
  }

  #await(control: Int32Array, generation: number): void {
    const deadline = performance.now() + 60_000
    for (;;) {
      const done = Atomics.load(control, DONE)
      if (done === generation) break
      if (performance.now() > deadline) throw new ChurnError(ErrorCodes.TIMEOUT, 'a histogram worker did not answer within 60 s')
      Atomics.wait(control, DONE, done, 1_000)
    }
    if (Atomics.load(control, STATUS) === STATUS_FAILED) {
      throw new ChurnError(ErrorCodes.VALIDATION, 'a histogram worker failed')
    }
  }

  close(): void {
    for (const { worker, control } of this.#workers) {
      Atomics.store(control, STATUS, STATUS_STOP)
      Atomics.add(control, GENERATION, 1)
      Atomics.notify(control, GENERATION)
      void worker.terminate()
    }
    this.#workers.length = 0
  }
}

/** A builder for `threads` threads (1: the calling thread only). */
export function createHistogramBuilder(binned: BinnedColumns, slots: number, threads: number): HistogramBuilder {
  return threads > 1 ? new ThreadedHistogramBuilder(binned, slots, threads) : new SerialHistogramBuilder(binned)
}
