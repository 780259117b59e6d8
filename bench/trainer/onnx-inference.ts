import { loadavg } from 'node:os'
import type { InferenceSession } from 'onnxruntime-node'
import { takeRows } from '../../trainer/dataset/index.js'
import type { GbdtModel } from '../../trainer/gbdt/index.js'
import { createOnnxSession, gbdtToOnnx, runOnnx } from '../../trainer/onnx/index.js'
import { median, table } from './stats.js'
import { generateChurnLike } from './synthetic-churn.js'

/** Session settings compared: the runtime's default (a thread per core, spinning while idle), no spinning, one thread. */
const SESSIONS: readonly { readonly label: string; readonly options: InferenceSession.SessionOptions }[] = [
  { label: 'default', options: {} },
  // Spinning threads fight other processes for the cores; without spinning a shared machine degrades gracefully.
  { label: 'no spinning', options: { extra: { session: { intra_op: { allow_spinning: '0' } } } } },
  { label: '1 thread', options: { intraOpNumThreads: 1, interOpNumThreads: 1 } },
]

/**
 * (b) Batch inference of a 200-tree model through onnxruntime-node (CPU): rows per second by batch size and session
 * settings. Timing covers tensor creation, the run and reading the probabilities back, as a scorer would.
 */
export async function onnxInferenceBench(model: GbdtModel, reps: number): Promise<void> {
  const rows = 100_000
  const data = generateChurnLike(rows, 3)
  const bytes = gbdtToOnnx(model, { featureNames: data.featureNames, featureSetVersion: 'bench' })
  console.log(`\n(b) ONNX inference: ${model.trees.length}-tree model, ${model.trees[0]?.feature.length ?? 0} nodes per tree, ` +
    `${(bytes.length / 1024).toFixed(0)} KiB; onnxruntime-node CPU; ${rows} rows per measurement, median of ${reps} ` +
    `(load average ${loadavg().map((load) => load.toFixed(1)).join(' ')})`)
  const results: string[][] = []
  let best = { rate: 0, label: '' }
  for (const { label, options } of SESSIONS) {
    const session = await createOnnxSession(bytes, options)
    for (const batch of [1, 100, 1_000, 10_000, 100_000]) {
      const total = batch === 1 ? 5_000 : rows
      const batches = Array.from({ length: Math.ceil(total / batch) }, (_, k) =>
        takeRows(data.x, Int32Array.from({ length: Math.min(batch, total - k * batch) }, (_, i) => k * batch + i)))
      await runOnnx(session, batches[0] ?? data.x)
      const rates: number[] = []
      for (let rep = 0; rep < reps; rep++) {
        const started = performance.now()
        for (const x of batches) await runOnnx(session, x)
        rates.push(total / ((performance.now() - started) / 1000))
      }
      const rate = median(rates)
      if (rate > best.rate) best = { rate, label: `batch ${batch}, ${label}` }
      results.push([label, String(batch), Math.round(rate).toLocaleString('en-US'), (1e6 / rate).toFixed(2)])
    }
    await session.release()
  }
  console.log(table(['SESSION', 'BATCH', 'ROWS/S', 'US/ROW'], results))
  console.log(`best throughput ${Math.round(best.rate).toLocaleString('en-US')} rows/s (${best.label}); target >= 200,000 ${best.rate >= 200_000 ? 'PASS' : 'MISS'}`)
}
