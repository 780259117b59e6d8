import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { dashboard, type ClassicDashboardBuilder, JOB, query, stat, timeseries } from './common.js'

/** The gRPC scoring gateway. */
export function gatewayDashboard(): ClassicDashboardBuilder {
  return dashboard('churn-gateway', 'Churn / Gateway', 'gRPC calls to the scoring gateway by method and status, server errors and latency.')
    .withRow(new RowBuilder('Calls'))
    .withPanel(timeseries('Requests by method and status', [
      query(`sum by (method, code) (job_method_code:churn_gateway_requests:rate1m{${JOB}})`, '{{method}} {{code}}'),
    ], { unit: 'reqps', stacked: true, span: 12, description: 'Calls per second by method and gRPC status code.' }))
    .withPanel(timeseries('Calls not OK by status', [
      query(`sum by (code) (job_method_code:churn_gateway_requests:rate1m{${JOB}, code!="OK"})`, '{{code}}'),
    ], { unit: 'reqps', stacked: true, span: 6, description: 'Every status but OK: the callers\' (NOT_FOUND, INVALID_ARGUMENT, UNAUTHENTICATED...) and the server\'s.' }))
    .withPanel(stat('Server error share', [
      query(`max(job:churn_gateway_request_errors:ratio_rate1m{${JOB}})`, 'errors'),
    ], { unit: 'percentunit', threshold: 0.05, description: 'Calls ending INTERNAL, UNKNOWN, UNAVAILABLE, DATA_LOSS or DEADLINE_EXCEEDED (ChurnGatewayErrorRateHigh past 5% over 5 m).' }).height(8))

    .withRow(new RowBuilder('Latency and streams'))
    .withPanel(timeseries('Latency by method (p99 and p50)', [
      query(`max by (method) (job_method:churn_gateway_request_duration_seconds:p99_rate1m{${JOB}})`, '{{method}} p99'),
      query(`max by (method) (job_method:churn_gateway_request_duration_seconds:p50_rate1m{${JOB}})`, '{{method}} p50'),
    ], { unit: 's', min: 0, span: 18, description: 'From a call arriving to its status; score streams are left out (their duration is their whole life).' }))
    .withPanel(stat('Open score streams', [
      query(`sum(churn_gateway_open_streams{${JOB}})`, 'streams'),
    ], { unit: 'short', description: 'StreamScores calls open now.' }).height(8))
}
