import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { dashboard, type ClassicDashboardBuilder, JOB, query, stat, timeseries } from './common.js'

/** Throughput, lag, latency and dead letters of the streaming roles. */
export function pipelineDashboard(): ClassicDashboardBuilder {
  return dashboard('churn-pipeline', 'Churn / Pipeline overview', 'Records through each role, consumer lag, event-to-score latency and dead letters.')
    .withRow(new RowBuilder('Throughput'))
    .withPanel(timeseries('Records consumed by role and topic', [
      query(`sum by (role, topic) (job_role_topic:churn_records_consumed:rate1m{${JOB}})`, '{{role}} ← {{topic}}'),
    ], { unit: 'cps', description: 'Records taken from each input topic per second (1 m rate).' }))
    .withPanel(timeseries('Records produced by role and topic', [
      query(`sum by (role, topic) (job_role_topic:churn_records_produced:rate1m{${JOB}})`, '{{role}} → {{topic}}'),
    ], { unit: 'cps', description: 'Records written to each output topic per second (1 m rate), dead-letter topics included.' }))
    .withPanel(timeseries('Customer events by outcome', [
      query(`sum by (outcome) (job_outcome:churn_ingest_events:rate1m{${JOB}})`, '{{outcome}}'),
    ], { unit: 'cps', stacked: true, description: 'Events ingest applied to the online state, found late, replayed (already applied) or dead-lettered.' }))
    .withPanel(timeseries('Offline store rows inserted by table', [
      query(`sum by (table) (job_table:churn_offline_sink_records_inserted:rate1m{${JOB}})`, '{{table}}'),
    ], { unit: 'cps', description: 'Rows the offline sink wrote to ClickHouse per second.' }))

    .withRow(new RowBuilder('Lag'))
    .withPanel(timeseries('Consumer lag by group and topic', [
      query(`sum by (group, topic) (job_group_topic:churn_consumer_lag_records:sum{${JOB}})`, '{{group}} / {{topic}}'),
    ], { unit: 'short', min: 0, span: 18, description: 'Records between each group\'s committed offset and the end of each topic, summed over partitions.' }))
    .withPanel(stat('Total consumer lag', [
      query(`sum(job_group:churn_consumer_lag_records:sum{${JOB}})`, 'lag'),
    ], { unit: 'short', threshold: 1_000, description: 'Records behind, over every group (ChurnConsumerLagGrowing fires past 1000 and growing).' }).height(8))

    .withRow(new RowBuilder('Latency'))
    .withPanel(timeseries('Event to score latency', [
      query(`max(job:churn_event_to_score_latency_seconds:p99_rate1m{${JOB}})`, 'p99'),
      query(`max(job:churn_event_to_score_latency_seconds:p50_rate1m{${JOB}})`, 'p50'),
    ], { unit: 's', min: 0, threshold: 5, span: 18, description: 'From a customer event reaching Kafka to its score being emitted. Target: p99 under 5 s (ChurnEventToScoreLatencyHigh).' }))
    .withPanel(stat('Event to score p99', [
      query(`max(job:churn_event_to_score_latency_seconds:p99_rate1m{${JOB}})`, 'p99'),
    ], { unit: 's', threshold: 5, description: 'Over the last minute.' }).height(8))
    .withPanel(timeseries('Batch and insert duration (p99)', [
      query(`histogram_quantile(0.99, sum by (le) (rate(churn_ingest_batch_duration_seconds_bucket{${JOB}}[$__rate_interval])))`, 'ingest batch'),
      query(`histogram_quantile(0.99, sum by (le) (rate(churn_scorer_batch_duration_seconds_bucket{${JOB}}[$__rate_interval])))`, 'scorer batch'),
      query(`histogram_quantile(0.99, sum by (le) (rate(churn_drift_batch_duration_seconds_bucket{${JOB}}[$__rate_interval])))`, 'drift batch'),
      query(`histogram_quantile(0.99, sum by (table, le) (rate(churn_offline_sink_insert_duration_seconds_bucket{${JOB}}[$__rate_interval])))`, 'offline insert {{table}}'),
    ], { unit: 's', min: 0, description: 'Time each role spends on one batch before its transaction, and the offline sink on one ClickHouse insert.' }))
    .withPanel(timeseries('Online store operation latency (p99)', [
      query(`max by (operation) (job_operation:churn_online_store_operation_duration_seconds:p99_rate1m{${JOB}})`, '{{operation}}'),
    ], { unit: 's', min: 0, description: 'Redis operations of the online feature store.' }))

    .withRow(new RowBuilder('Dead letters and errors'))
    .withPanel(timeseries('Dead-lettered records by role, topic and reason', [
      query(`sum by (role, topic, reason) (job_role_topic_reason:churn_records_dead_lettered:rate1m{${JOB}})`, '{{role}} {{topic}}: {{reason}}'),
    ], { unit: 'cps', stacked: true, span: 8, description: 'Records each role sent to a dead-letter topic, with the reason.' }))
    .withPanel(timeseries('Dead-letter share by role', [
      query(`max by (role) (job_role:churn_records_dead_lettered:ratio_rate5m{${JOB}})`, '{{role}}'),
    ], { unit: 'percentunit', min: 0, threshold: 0.01, span: 8, description: 'Dead-lettered records over records consumed, 5 m (ChurnDeadLetterRateHigh past 1%).' }))
    .withPanel(timeseries('Online store errors by operation', [
      query(`sum by (operation) (job_operation:churn_online_store_errors:rate1m{${JOB}})`, '{{operation}}'),
    ], { unit: 'cps', min: 0, span: 8, description: 'Failed Redis operations per second (0 where operations run without failing).' }))
}
