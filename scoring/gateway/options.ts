import { z } from 'zod'
import type { Config } from '../../core/config.js'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { defaultRiskThresholds, parseRiskThresholds, riskThresholdsSchema } from '../risk.js'

export const gatewayOptionsSchema = z.strictObject({
  /** Address to listen on. Anything beyond loopback requires `apiKeyHashes`. @default '127.0.0.1' */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port to listen on; 0 picks a free one (see `Gateway.port`). @default 50051 */
  port: z.number().int().min(0).max(65_535).default(50_051),
  /**
   * SHA-256 (hex) of every accepted API key. Non-empty: each call of the scoring and inference
   * services must carry a key (`x-api-key` or `authorization: Bearer`). Health and reflection stay open.
   * @default []
   */
  apiKeyHashes: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/u, 'expected a SHA-256 hash in hex (64 characters)')).default([]),
  /** PEM files of the server's certificate chain and private key; unset serves plaintext. */
  tls: z.strictObject({ certPath: z.string().min(1), keyPath: z.string().min(1) }).optional(),
  /** Most rows in one ScoreMany (customer ids plus vectors) or ModelInfer request. @default 1000 */
  maxRows: z.number().int().min(1).max(100_000).default(1_000),
  /** Largest request message accepted; a bigger one fails RESOURCE_EXHAUSTED before it is parsed. @default 4 MiB */
  maxReceiveMessageBytes: z.number().int().min(1_024).default(4 * 1_048_576),
  /** The online store the gateway reads (its own connection, which never queues commands). @default the role context's REDIS_URL */
  redisUrl: z.string().min(1).optional(),
  /** Longest an online-store read may take before the call fails UNAVAILABLE. @default 500 */
  redisTimeoutMs: z.number().int().min(10).default(500),
  /** Prefix of the online store's keys. @default 'churn:' */
  keyPrefix: z.string().default('churn:'),
  thresholds: riskThresholdsSchema.default(defaultRiskThresholds),
  /** Reasons per score when the request asks for none in particular. @default 3 */
  topReasons: z.number().int().min(0).max(64).default(3),
  /** Score by the declared business rules when no model can; off goes straight to the base rate. @default true */
  rules: z.boolean().default(true),
  /** Churn rate used at the base-rate level when no champion states its training rate. @default 0.1 */
  defaultBaseRate: z.number().gt(0).lt(1).default(0.1),
  /** Longest the gateway waits at start to read the model log up to date. @default 30000 */
  modelCatchUpMs: z.number().int().min(0).default(30_000),
  /** Name of the champion under the Open Inference Protocol. @default 'churn' */
  modelName: z.string().regex(/^[A-Za-z0-9._-]+$/u, 'expected letters, digits, . _ -').default('churn'),
  /** Scores queued for one StreamScores client before it is ended as too slow (RESOURCE_EXHAUSTED). @default 1000 */
  streamBufferLimit: z.number().int().min(1).default(1_000),
  /** Longest `close()` waits for calls in flight before cancelling them. @default 5000 */
  shutdownGraceMs: z.number().int().min(0).default(5_000),
})

export type GatewayOptionsInput = z.input<typeof gatewayOptionsSchema>
export type GatewayOptions = z.output<typeof gatewayOptionsSchema>

/** Parses options once, at the edge; an error names each bad field and what was expected. */
export function parseGatewayOptions(input: GatewayOptionsInput = {}): GatewayOptions {
  const parsed = gatewayOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid gateway options: ${problems.join('; ')}`, { details: { problems } })
  }
  return parsed.data
}

/** The gateway's options from the environment (GATEWAY_*, and the SCORER_* scoring settings so both roles score alike). */
export function gatewayOptionsFromConfig(config: Config): GatewayOptionsInput {
  if ((config.GATEWAY_TLS_CERT === undefined) !== (config.GATEWAY_TLS_KEY === undefined)) {
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, 'GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together: set both (PEM paths) for TLS, or neither for plaintext')
  }
  return {
    keyPrefix: config.ONLINE_KEY_PREFIX,
    redisUrl: config.REDIS_URL,
    ...(config.GATEWAY_HOST === undefined ? {} : { host: config.GATEWAY_HOST }),
    ...(config.GATEWAY_PORT === undefined ? {} : { port: config.GATEWAY_PORT }),
    ...(config.GATEWAY_API_KEY_HASHES === undefined ? {} : { apiKeyHashes: config.GATEWAY_API_KEY_HASHES }),
    ...(config.GATEWAY_TLS_CERT === undefined || config.GATEWAY_TLS_KEY === undefined ? {} : { tls: { certPath: config.GATEWAY_TLS_CERT, keyPath: config.GATEWAY_TLS_KEY } }),
    ...(config.GATEWAY_MAX_ROWS === undefined ? {} : { maxRows: config.GATEWAY_MAX_ROWS }),
    ...(config.GATEWAY_MAX_MESSAGE_BYTES === undefined ? {} : { maxReceiveMessageBytes: config.GATEWAY_MAX_MESSAGE_BYTES }),
    ...(config.GATEWAY_REDIS_TIMEOUT_MS === undefined ? {} : { redisTimeoutMs: config.GATEWAY_REDIS_TIMEOUT_MS }),
    ...(config.SCORER_RISK_THRESHOLDS === undefined ? {} : { thresholds: parseRiskThresholds(config.SCORER_RISK_THRESHOLDS) }),
    ...(config.SCORER_BASE_RATE === undefined ? {} : { defaultBaseRate: config.SCORER_BASE_RATE }),
    ...(config.SCORER_RULES === undefined ? {} : { rules: config.SCORER_RULES }),
  }
}
