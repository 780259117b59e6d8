import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { ColumnEncoding, CsvTable, EncodedTable } from './types.js'

const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?'])
const POSITIVE = new Set(['yes', 'y', 'true', 't', '1', '1.0'])
const NEGATIVE = new Set(['no', 'n', 'false', 'f', '0', '0.0'])

function isMissing(value: string): boolean {
  return MISSING.has(value.trim().toLowerCase())
}

export interface EncodeOptions {
  readonly label: string
  readonly id?: string
}

/**
 * Turns a CSV table into a feature matrix: numeric columns as numbers, any other column as ordinal codes of its
 * sorted distinct strings (no label information used, so nothing leaks across folds); missing values are NaN.
 * The label accepts yes/no, true/false, y/n, t/f and 1/0 (any case); the id column is kept aside.
 */
export function encodeTable(table: CsvTable, options: EncodeOptions): EncodedTable {
  const columnIndex = (name: string, role: string): number => {
    const index = table.header.indexOf(name)
    if (index < 0) {
      throw new ChurnError(ErrorCodes.VALIDATION, `${role} column "${name}" is not in the CSV (columns: ${table.header.join(', ')})`)
    }
    return index
  }
  const labelIndex = columnIndex(options.label, 'label')
  const idIndex = options.id === undefined ? -1 : columnIndex(options.id, 'id')
  if (idIndex === labelIndex) throw new ChurnError(ErrorCodes.VALIDATION, 'the id column cannot be the label column')
  table.rows.forEach((row, index) => {
    if (row.length !== table.header.length) {
      throw new ChurnError(ErrorCodes.VALIDATION, `CSV row ${index + 2} has ${row.length} fields, the header has ${table.header.length}`)
    }
  })

  const y = new Uint8Array(table.rows.length)
  let positiveLabel: string | undefined
  table.rows.forEach((row, index) => {
    const raw = row[labelIndex] ?? ''
    const value = raw.trim().toLowerCase()
    if (POSITIVE.has(value)) {
      y[index] = 1
      positiveLabel ??= raw.trim()
    } else if (!NEGATIVE.has(value)) {
      throw new ChurnError(ErrorCodes.VALIDATION, `label "${options.label}" of CSV row ${index + 2} is ${JSON.stringify(raw)}; expected yes/no, true/false or 1/0`)
    }
  })

  const featureIndices = table.header.map((_, index) => index).filter((index) => index !== labelIndex && index !== idIndex)
  const encodings: ColumnEncoding[] = []
  const columns: Float32Array[] = []
  for (const index of featureIndices) {
    const name = table.header[index] ?? `column_${index}`
    const raw = table.rows.map((row) => row[index] ?? '')
    const numeric = raw.every((value) => isMissing(value) || Number.isFinite(Number(value.trim())))
    if (numeric) {
      encodings.push({ name, kind: 'numeric' })
      columns.push(Float32Array.from(raw, (value) => (isMissing(value) ? Number.NaN : Number(value.trim()))))
    } else {
      const categories = [...new Set(raw.filter((value) => !isMissing(value)).map((value) => value.trim()))].sort()
      const code = new Map(categories.map((category, position) => [category, position]))
      encodings.push({ name, kind: 'categorical', categories })
      columns.push(Float32Array.from(raw, (value) => (isMissing(value) ? Number.NaN : (code.get(value.trim()) ?? Number.NaN))))
    }
  }
  const rows = table.rows.length
  const cols = columns.length
  const values = new Float32Array(rows * cols)
  columns.forEach((column, j) => {
    column.forEach((value, i) => { values[i * cols + j] = value })
  })
  const encoded = {
    featureNames: encodings.map((encoding) => encoding.name),
    encodings,
    x: { rows, cols, values },
    y,
    positiveLabel: positiveLabel ?? 'yes',
  }
  return idIndex < 0 ? encoded : { ...encoded, ids: table.rows.map((row) => row[idIndex] ?? '') }
}
