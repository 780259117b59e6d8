export { importSnapshots, loadMapping, type ImportResult, type RejectedRow } from './importer.js'
export { importMappingSchema, type ImportMapping, type ImportMappingInput } from './mapping.js'
