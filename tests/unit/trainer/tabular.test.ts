import { describe, expect, it } from 'vitest'
import { ChurnError } from '../../../core/errors.js'
import { crossValidate, encodeTable, parseCsv, resolveCrossValidationOptions } from '../../../trainer/tabular/index.js'

describe('CSV encoding', () => {
  const table = parseCsv([
    'id,plan,tenure,score,flag,label',
    'a,pro,12,0.5,yes,Yes',
    'b,basic,NA,,no,no',
    'c,max,3,1e3,yes,TRUE',
    'd,,7,-2,no,0',
    'e,pro,1,?,yes,1',
  ].join('\n'))

  it('keeps numbers, codes strings by their sorted order and reads common missing markers as NaN', () => {
    const encoded = encodeTable(table, { label: 'label', id: 'id' })
    expect(encoded.featureNames).toEqual(['plan', 'tenure', 'score', 'flag'])
    expect(encoded.encodings).toEqual([
      { name: 'plan', kind: 'categorical', categories: ['basic', 'max', 'pro'] },
      { name: 'tenure', kind: 'numeric' },
      { name: 'score', kind: 'numeric' },
      { name: 'flag', kind: 'categorical', categories: ['no', 'yes'] },
    ])
    expect(Array.from(encoded.x.values.subarray(0, 4))).toEqual([2, 12, 0.5, 1])
    expect(Array.from(encoded.x.values.subarray(4, 8))).toEqual([0, Number.NaN, Number.NaN, 0])
    expect(Array.from(encoded.x.values.subarray(12, 13))).toEqual([Number.NaN])
    expect(Array.from(encoded.y)).toEqual([1, 0, 1, 0, 1])
    expect(encoded.ids).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(encoded.positiveLabel).toBe('Yes')
  })

  it('rejects a label it cannot read and columns that do not exist', () => {
    expect(() => encodeTable(parseCsv('x,label\n1,yes\n2,perhaps\n'), { label: 'label' })).toThrow(/row 3 is "perhaps"/u)
    expect(() => encodeTable(table, { label: 'churn' })).toThrow(ChurnError)
    expect(() => encodeTable(table, { label: 'label', id: 'label' })).toThrow(/id column/u)
    expect(() => parseCsv('')).toThrow(/header/u)
  })
})

describe('cross-validation options', () => {
  it('lets the caller override single GBDT settings over the tabular defaults', () => {
    const options = resolveCrossValidationOptions({ seed: 3, gbdt: { numLeaves: 7 } })
    expect(options.gbdt.numLeaves).toBe(7)
    expect(options.gbdt.validationFraction).toBe(0.2)
    expect(options.gbdt.learningRate).toBe(0.05)
    expect(options.gbdt.seed).toBe(3)
    expect(() => resolveCrossValidationOptions({ gbdt: { numLeaves: 0 } })).toThrow(/numLeaves/u)
    expect(() => resolveCrossValidationOptions({ folds: 1 })).toThrow(/folds/u)
  })

  it('uses a fold assignment it is given, so another tool can share the folds', () => {
    const rows = 60
    const values = Float32Array.from({ length: rows }, (_, row) => row % 7)
    const y = Uint8Array.from({ length: rows }, (_, row) => (row % 3 === 0 ? 1 : 0))
    const assignment = Int32Array.from({ length: rows }, (_, row) => Math.floor(row / 20))
    const report = crossValidate({ x: { rows, cols: 1, values }, y }, { models: ['logistic'] }, { assignment })
    expect(report.folds).toBe(3)
    expect(report.assignment).toBe(assignment)
    expect(report.models[0]?.folds.map((fold) => fold.testRows)).toEqual([20, 20, 20])
  })
})
