export type {
  ColumnEncoding,
  CrossValidationReport,
  CsvTable,
  EncodedTable,
  FoldMetrics,
  ModelCrossValidation,
  ModelKind,
  SummaryMetric,
} from './types.js'
export { SUMMARY_METRICS } from './types.js'
export { parseCsv, readCsvFile } from './csv-table.js'
export { encodeTable, type EncodeOptions } from './encode.js'
export {
  crossValidationOptionsSchema,
  resolveCrossValidationOptions,
  tabularGbdtDefaults,
  type CrossValidationOptions,
  type CrossValidationOptionsInput,
} from './options.js'
export { crossValidate, type CrossValidationExtras } from './cross-validate.js'
