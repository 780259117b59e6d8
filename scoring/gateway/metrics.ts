import { Counter, Gauge, Histogram } from 'prom-client'
import { metricsOnce } from '../../core/metrics.js'

export interface GatewayMetrics {
  requests: Counter<'method' | 'code'>
  duration: Histogram<'method'>
  streams: Gauge
}

export const gatewayMetrics = metricsOnce((registers): GatewayMetrics => ({
  requests: new Counter({ name: 'churn_gateway_requests_total', help: 'gRPC calls to the gateway by method and status code (OK, NOT_FOUND, ...).', labelNames: ['method', 'code'], registers }),
  duration: new Histogram({
    name: 'churn_gateway_request_duration_seconds',
    help: 'Time from a call arriving to its status (a StreamScores call: its whole life).',
    labelNames: ['method'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  }),
  streams: new Gauge({ name: 'churn_gateway_open_streams', help: 'StreamScores calls currently open.', registers }),
}))
