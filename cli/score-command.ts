import { readFileSync } from 'node:fs'
import { status } from '@grpc/grpc-js'
import type { Command } from 'commander'
import { config, type Config } from '../core/config.js'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import { formatAddress, GatewayClient, isServiceError, type ReasonMessage, type ScoreCustomerResponse } from '../scoring/gateway/index.js'

/** Where `churn score` finds the gateway: GATEWAY_ADDRESS, else GATEWAY_HOST:GATEWAY_PORT (loopback for a wildcard host). */
export function gatewayAddress(settings: Config): string {
  if (settings.GATEWAY_ADDRESS !== undefined) return settings.GATEWAY_ADDRESS
  const host = settings.GATEWAY_HOST ?? '127.0.0.1'
  return formatAddress(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, settings.GATEWAY_PORT ?? 50_051)
}

/** A client configured from the environment: GATEWAY_API_KEY, and TLS when GATEWAY_TLS_CA (or GATEWAY_TLS_CERT) is set. */
export function gatewayClient(settings: Config, address = gatewayAddress(settings)): GatewayClient {
  const caPath = settings.GATEWAY_TLS_CA ?? settings.GATEWAY_TLS_CERT
  let ca: Buffer | undefined
  if (caPath !== undefined) {
    try {
      ca = readFileSync(caPath)
    } catch (error) {
      throw new ChurnError(ErrorCodes.CONFIG_INVALID, `GATEWAY_TLS_CA: cannot read ${caPath}: ${errorMessage(error)}`, { cause: error })
    }
  }
  return new GatewayClient({ address, ...(settings.GATEWAY_API_KEY === undefined ? {} : { apiKey: settings.GATEWAY_API_KEY }), ...(ca === undefined ? {} : { tls: { ca } }) })
}

/** A failed call as a CLI error: the status name and the gateway's message. */
export function gatewayCallError(error: unknown, address: string): ChurnError {
  if (!isServiceError(error)) return new ChurnError(ErrorCodes.TRANSPORT, `gateway at ${address}: ${errorMessage(error)}`, { cause: error })
  const retry = error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED
  return new ChurnError(retry ? ErrorCodes.TRANSPORT : ErrorCodes.VALIDATION, `gateway at ${address}: ${status[error.code]}: ${error.details}`, { cause: error, canRetry: retry })
}

function age(ms: number): string {
  const seconds = Math.round(ms / 1_000)
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`
  if (seconds < 172_800) return `${(seconds / 3_600).toFixed(1)} h`
  return `${(seconds / 86_400).toFixed(1)} days`
}

const bandName = (name: string): string => name.replace(/^RISK_BAND_/u, '').toLowerCase()
const levelName = (name: string): string => name.replace(/^FALLBACK_LEVEL_/u, '').toLowerCase()

export function formatReasons(reasons: readonly ReasonMessage[]): string[] {
  const width = Math.max(0, ...reasons.map((reason) => reason.feature.length))
  return reasons.map((reason) => {
    const sign = reason.contribution >= 0 ? '+' : '-'
    const value = reason.value === undefined || reason.value === null ? 'missing' : String(reason.value)
    return `  ${sign}${Math.abs(reason.contribution).toFixed(4)}  ${reason.feature.padEnd(width)} = ${value}`
  })
}

function formatScore(response: ScoreCustomerResponse): string[] {
  const score = response.score
  if (score === null) return ['no score']
  return [
    `customer ${score.customer_id}: churn probability ${score.probability.toFixed(4)} (${bandName(score.risk_band)})`,
    `model ${score.model_version} (${levelName(score.fallback_level)}), feature set ${score.feature_set_version}, features ${age(response.feature_age_ms)} old (as of ${new Date(response.features_as_of_ms).toISOString()})`,
    ...(score.reasons.length === 0 ? ['no reasons (no model scored this customer)'] : ['reasons (contribution to the log-odds):', ...formatReasons(score.reasons)]),
  ]
}

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description('score one customer through the gateway (features from the online store) and print the score and its reasons')
    .argument('<customer-id>', 'the customer to score')
    .option('--json', 'print the gateway\'s response as JSON')
    .option('--address <host:port>', 'the gateway (default: GATEWAY_ADDRESS, else GATEWAY_HOST:GATEWAY_PORT)')
    .option('--reasons <n>', 'reasons to show (default: the gateway\'s)', (value) => {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `--reasons: expected a whole number from 1 to 64, got ${JSON.stringify(value)}`)
      return n
    })
    .option('--timeout <ms>', 'deadline of the call in milliseconds', (value) => {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `--timeout: expected a positive number of milliseconds, got ${JSON.stringify(value)}`)
      return n
    }, 10_000)
    .action(async (customerId: string, options: { json?: boolean; address?: string; reasons?: number; timeout: number }) => {
      const settings = config()
      const address = options.address ?? gatewayAddress(settings)
      const client = gatewayClient(settings, address)
      try {
        const response = await client.scoreCustomer({ customer_id: customerId, top_reasons: options.reasons ?? 0 }, { timeoutMs: options.timeout })
        console.log(options.json === true ? JSON.stringify(response, null, 2) : formatScore(response).join('\n'))
      } catch (error) {
        throw gatewayCallError(error, address)
      } finally {
        client.close()
      }
    })
}
