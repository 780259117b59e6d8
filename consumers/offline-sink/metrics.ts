import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface OfflineSinkMetrics {
  consumed: Counter<'topic'>
  inserted: Counter<'topic' | 'table'>
  deadLettered: Counter<'topic' | 'reason'>
  batchRows: Histogram<'table'>
  insertDuration: Histogram<'table'>
  insertErrors: Counter<'table' | 'kind' | 'code'>
  commitErrors: Counter<'topic'>
  paused: Gauge<'topic'>
  pendingRows: Gauge<'topic'>
}

// One set per registry: a sink restarted in the same process reuses the series instead of failing to
// register them twice.
const byRegistry = new WeakMap<Registry, OfflineSinkMetrics>()

export function offlineSinkMetrics(registry: Registry): OfflineSinkMetrics {
  let metrics = byRegistry.get(registry)
  if (metrics === undefined) {
    const registers = [registry]
    metrics = {
      consumed: new Counter({ name: 'churn_offline_sink_records_consumed_total', help: 'Records taken from an input topic (a record consumed again after a restart counts again).', labelNames: ['topic'], registers }),
      inserted: new Counter({ name: 'churn_offline_sink_records_inserted_total', help: 'Rows written to the offline store.', labelNames: ['topic', 'table'], registers }),
      deadLettered: new Counter({ name: 'churn_offline_sink_records_dead_lettered_total', help: 'Records sent to the dead-letter topic, by reason.', labelNames: ['topic', 'reason'], registers }),
      batchRows: new Histogram({ name: 'churn_offline_sink_batch_rows', help: 'Rows per insert.', labelNames: ['table'], buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000], registers }),
      insertDuration: new Histogram({ name: 'churn_offline_sink_insert_duration_seconds', help: 'Time of one insert, successful or not.', labelNames: ['table'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
      insertErrors: new Counter({ name: 'churn_offline_sink_insert_errors_total', help: 'Failed inserts, by kind (transient, rejected, fatal) and ClickHouse error type.', labelNames: ['table', 'kind', 'code'], registers }),
      commitErrors: new Counter({ name: 'churn_offline_sink_commit_errors_total', help: 'Offset commits that failed (retried with the next batch; the rows are in ClickHouse already).', labelNames: ['topic'], registers }),
      paused: new Gauge({ name: 'churn_offline_sink_paused', help: '1 while fetching from the topic is paused (ClickHouse failing or too many rows pending).', labelNames: ['topic'], registers }),
      pendingRows: new Gauge({ name: 'churn_offline_sink_pending_rows', help: 'Rows held in memory waiting to be inserted.', labelNames: ['topic'], registers }),
    }
    byRegistry.set(registry, metrics)
  }
  return metrics
}
