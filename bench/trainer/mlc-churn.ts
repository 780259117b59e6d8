import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../../core/config.js'
import { foldSplit, meanAndSd, rocAuc, stratifiedKFold } from '../../trainer/evaluation/index.js'
import { takeValues } from '../../trainer/dataset/index.js'
import { crossValidate, encodeTable, readCsvFile } from '../../trainer/tabular/index.js'
import { runReference } from './python-env.js'
import { table } from './stats.js'

export const MLC_CHURN_CSV = process.env['MLC_CHURN_CSV'] ?? join(projectRoot, '..', 'shared', 'data', 'mlc_churn.csv')

interface LightgbmCv {
  version: string
  default: number[][]
  same_protocol: number[][]
  same_protocol_trees: number[]
}

/**
 * (c) 5-fold ROC-AUC on mlc_churn against LightGBM on identical folds: the fold of every row is written to
 * folds.csv and both sides read it back; LightGBM also reads the same encoded features.
 */
export async function mlcChurnBench(folder: string, foldSeed = 0, csv: string = MLC_CHURN_CSV): Promise<void> {
  const encoded = encodeTable(await readCsvFile(csv), { label: 'churn' })
  const { x, y } = encoded
  writeFileSync(join(folder, 'folds.csv'), ['row,fold', ...Array.from(stratifiedKFold(y, 5, foldSeed), (fold, row) => `${row},${fold}`)].join('\n'))
  const lines = [[...encoded.featureNames, 'label'].join(',')]
  for (let row = 0; row < x.rows; row++) {
    const values = Array.from(x.values.subarray(row * x.cols, (row + 1) * x.cols), (value) => (Number.isNaN(value) ? 'nan' : String(value)))
    lines.push([...values, String(y[row])].join(','))
  }
  writeFileSync(join(folder, 'features.csv'), lines.join('\n'))

  const assignment = Int32Array.from(readFileSync(join(folder, 'folds.csv'), 'utf8').trim().split('\n').slice(1), (line) => Number(line.split(',')[1]))
  console.log(`\n(c) mlc_churn: ${x.rows} rows, ${x.cols} features, 5 stratified folds (seed ${foldSeed}) written to ${join(folder, 'folds.csv')}`)
  const ours = crossValidate({ x, y }, { models: ['gbdt', 'logistic'], seed: foldSeed }, { assignment })
  runReference('cv', folder)
  const reference = JSON.parse(readFileSync(join(folder, 'lightgbm-cv.json'), 'utf8')) as LightgbmCv
  const aucs = (predictions: number[][]): number[] => predictions.map((prediction, fold) => rocAuc(takeValues(y, foldSplit(assignment, fold).holdout), prediction))

  const gbdt = ours.models.find((model) => model.model === 'gbdt')
  const logistic = ours.models.find((model) => model.model === 'logistic')
  const rows: [string, number[], string][] = [
    ['typescript gbdt (lr 0.05, early stopping on inner 20 %, refit)', gbdt?.folds.map((fold) => fold.rocAuc) ?? [], gbdt?.folds.map((fold) => fold.trees).join('/') ?? ''],
    [`lightgbm ${reference.version} same protocol`, aucs(reference.same_protocol), reference.same_protocol_trees.join('/')],
    [`lightgbm ${reference.version} defaults (100 trees, lr 0.1)`, aucs(reference.default), '100'],
    ['typescript logistic baseline', logistic?.folds.map((fold) => fold.rocAuc) ?? [], '-'],
  ]
  console.log(table(['MODEL', 'MEAN AUC', 'SD', 'PER FOLD', 'TREES'], rows.map(([name, values, trees]) => {
    const { mean, sd } = meanAndSd(values)
    return [name, mean.toFixed(4), sd.toFixed(4), values.map((value) => value.toFixed(4)).join(' '), trees]
  })))
  const oursMean = meanAndSd(rows[0]?.[1] ?? []).mean
  for (const [name, values] of rows.slice(1, 3)) {
    const delta = oursMean - meanAndSd(values).mean
    console.log(`ours - ${name}: ${delta >= 0 ? '+' : ''}${delta.toFixed(4)} (target >= -0.005) ${delta >= -0.005 ? 'PASS' : 'MISS'}`)
  }
}
