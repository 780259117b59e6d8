import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { parseOptions } from '../../trainer/dataset/index.js'
import { trainGbdt } from '../../trainer/gbdt/index.js'
import { mlcChurnBench } from './mlc-churn.js'
import { onnxInferenceBench } from './onnx-inference.js'
import { trainingTimeBench } from './training-time.js'
import { generateChurnLike } from './synthetic-churn.js'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rows: { type: 'string', default: '100000' },
    trees: { type: 'string', default: '200' },
    reps: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    'fold-seed': { type: 'string', default: '0' },
  },
})
const settings = parseOptions(z.strictObject({
  only: z.enum(['a', 'b', 'c']).optional(),
  rows: z.coerce.number().int().min(1000),
  trees: z.coerce.number().int().min(1),
  reps: z.coerce.number().int().min(1),
  keep: z.boolean(),
  'fold-seed': z.coerce.number().int(),
}), values, 'bench')

const folder = mkdtempSync(join(tmpdir(), 'churn-trainer-bench-'))
console.log(`trainer benchmarks (exchange files in ${folder}); node ${process.version}, ${process.platform}/${process.arch}`)
try {
  let model
  if (settings.only === undefined || settings.only === 'a') {
    model = trainingTimeBench({ rows: settings.rows, trees: settings.trees, reps: settings.reps, folder })
  }
  if (settings.only === undefined || settings.only === 'b') {
    model ??= trainGbdt(generateChurnLike(settings.rows, 1), { numTrees: 200, learningRate: 0.1 }).model
    await onnxInferenceBench(model, settings.reps)
  }
  if (settings.only === undefined || settings.only === 'c') await mlcChurnBench(folder, settings['fold-seed'])
} finally {
  if (!settings.keep) rmSync(folder, { recursive: true, force: true })
}
