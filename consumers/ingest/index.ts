export { startIngest, ingestBatch, type IngestMetrics } from './ingest.js'
export { ingestOptionsSchema, type IngestOptions, type IngestOptionsInput } from './options.js'
