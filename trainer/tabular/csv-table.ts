import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import type { CsvTable } from './types.js'

/** Parses CSV text with a header row; every row must have the header's width. */
export function parseCsv(text: string): CsvTable {
  let records: string[][]
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, trim: true, relax_quotes: false })
  } catch (error) {
    throw new ChurnError(ErrorCodes.VALIDATION, `CSV: ${errorMessage(error)}`, { cause: error })
  }
  const [header, ...rows] = records
  if (header === undefined || header.length === 0) throw new ChurnError(ErrorCodes.VALIDATION, 'CSV: no header row')
  return { header, rows }
}

export async function readCsvFile(path: string): Promise<CsvTable> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ChurnError(ErrorCodes.VALIDATION, `cannot read ${path}: ${errorMessage(error)}`, { cause: error })
  }
  return parseCsv(text)
}
