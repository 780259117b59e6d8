import { Metadata, status } from '@grpc/grpc-js'
import { describe, expect, it } from 'vitest'
import { riskFilter } from '../../cli/watch-command.js'
import { parseConfig } from '../../core/config.js'
import { ChurnError } from '../../core/errors.js'
import { ApiKeyVerifier, hashApiKey, isLoopbackHost } from '../../scoring/gateway/auth.js'
import { CallScope } from '../../scoring/gateway/call-scope.js'
import { vectorFromMessage } from '../../scoring/gateway/features.js'
import { presentedKey } from '../../scoring/gateway/auth.js'
import { decodeFeatureTensor } from '../../scoring/gateway/inference-service.js'
import { gatewayOptionsFromConfig, parseGatewayOptions } from '../../scoring/gateway/options.js'
import { GatewayError } from '../../scoring/gateway/status.js'
import type { FeedScore, ModelInferRequest } from '../../scoring/gateway/index.js'

const served = { version: 'fs-test', names: ['tenure_days', 'monthly_charge', 'tickets_30d'] }

function caught(run: () => unknown): GatewayError {
  try {
    run()
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
  throw new Error('expected a GatewayError')
}

function inferRequest(overrides: Partial<ModelInferRequest> = {}, input: Partial<ModelInferRequest['inputs'][number]> = {}): ModelInferRequest {
  return {
    model_name: 'churn',
    model_version: '',
    id: '',
    parameters: {},
    outputs: [],
    raw_input_contents: [],
    inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 3], parameters: {}, contents: { bool_contents: [], int_contents: [], int64_contents: [], uint_contents: [], uint64_contents: [], fp32_contents: [1, 2, 3, 4, 5, 6], fp64_contents: [], bytes_contents: [] }, ...input }],
    ...overrides,
  }
}

describe('gateway API keys', () => {
  it('accepts exactly the keys whose SHA-256 is configured, and everything when none are', () => {
    const verifier = new ApiKeyVerifier([hashApiKey('s3cret'), hashApiKey('other').toUpperCase()])
    expect(verifier.enabled).toBe(true)
    expect(verifier.verify('s3cret')).toBe(true)
    expect(verifier.verify('other')).toBe(true)
    expect(verifier.verify('s3cret ')).toBe(false)
    expect(verifier.verify(undefined)).toBe(false)
    expect(new ApiKeyVerifier([]).verify(undefined)).toBe(true)
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('reads the key from x-api-key or a bearer authorization header', () => {
    const byHeader = new Metadata()
    byHeader.set('x-api-key', 'k1')
    const bearer = new Metadata()
    bearer.set('authorization', 'Bearer k2')
    expect(presentedKey(byHeader)).toBe('k1')
    expect(presentedKey(bearer)).toBe('k2')
    expect(presentedKey(new Metadata())).toBeUndefined()
  })

  it('tells loopback from addresses other machines can reach', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(host)).toBe(true)
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'gateway.internal', '192.168.1.1']) expect(isLoopbackHost(host)).toBe(false)
  })
})

describe('gateway options', () => {
  it('takes GATEWAY_* and the scorer\'s scoring settings from the environment', () => {
    const options = parseGatewayOptions(gatewayOptionsFromConfig(parseConfig({ GATEWAY_HOST: '0.0.0.0', GATEWAY_PORT: '0', GATEWAY_API_KEY_HASHES: `${hashApiKey('a')}, ${hashApiKey('b')}`, GATEWAY_MAX_ROWS: '10', SCORER_RISK_THRESHOLDS: '0.2,0.4,0.7', ONLINE_KEY_PREFIX: 'x:' })))
    expect(options).toMatchObject({ host: '0.0.0.0', port: 0, maxRows: 10, keyPrefix: 'x:', thresholds: { medium: 0.2, high: 0.4, critical: 0.7 } })
    expect(options.apiKeyHashes).toEqual([hashApiKey('a'), hashApiKey('b')])
    expect(parseGatewayOptions()).toMatchObject({ host: '127.0.0.1', port: 50_051, apiKeyHashes: [], maxRows: 1_000, modelName: 'churn' })
  })

  it('names the variable or field that is wrong', () => {
    expect(() => parseConfig({ GATEWAY_API_KEY_HASHES: 'not-a-hash' })).toThrow(/GATEWAY_API_KEY_HASHES: expected SHA-256 hashes in hex/u)
    expect(() => gatewayOptionsFromConfig(parseConfig({ GATEWAY_TLS_CERT: '/tmp/cert.pem' }))).toThrow(/GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together/u)
    expect(() => parseGatewayOptions({ maxRows: 0 })).toThrow(ChurnError)
    expect(() => parseGatewayOptions({ maxRows: 0 })).toThrow(/maxRows: /u)
  })
})

describe('feature vectors in requests', () => {
  it('reads named features (absent ones missing) and ordered values (NaN missing)', () => {
    expect(Array.from(vectorFromMessage({ named: { monthly_charge: 70 }, values: [], feature_set_version: '' }, 'features', served))).toEqual([Number.NaN, 70, Number.NaN])
    expect(Array.from(vectorFromMessage({ named: {}, values: [1, Number.NaN, 3], feature_set_version: 'fs-test' }, 'features', served))).toEqual([1, Number.NaN, 3])
  })

  it('refuses bad vectors with INVALID_ARGUMENT naming the field', () => {
    const cases: [Parameters<typeof vectorFromMessage>[0], RegExp][] = [
      [null, /^rows\[2\]\.features: required/u],
      [{ named: {}, values: [1, 2], feature_set_version: '' }, /^rows\[2\]\.features\.values: expected 3 values in the order of feature set fs-test, got 2/u],
      [{ named: { tenure_dayz: 1 }, values: [], feature_set_version: '' }, /^rows\[2\]\.features\.named\["tenure_dayz"\]: not a feature of feature set fs-test/u],
      [{ named: {}, values: [1, Number.POSITIVE_INFINITY, 3], feature_set_version: '' }, /^rows\[2\]\.features\.values\[1\]: feature monthly_charge: expected a finite number/u],
      [{ named: { a: 1 }, values: [1, 2, 3], feature_set_version: '' }, /^rows\[2\]\.features: give either `named` or `values`, not both/u],
      [{ named: {}, values: [1, 2, 3], feature_set_version: 'fs-old' }, /^rows\[2\]\.features\.feature_set_version: this gateway serves feature set fs-test, got fs-old/u],
    ]
    for (const [message, expected] of cases) {
      const error = caught(() => vectorFromMessage(message, 'rows[2].features', served))
      expect(error.code).toBe(status.INVALID_ARGUMENT)
      expect(error.message).toMatch(expected)
    }
  })
})

describe('Open Inference Protocol tensors', () => {
  it('decodes fp32_contents and little-endian raw_input_contents to the same rows', () => {
    const typed = decodeFeatureTensor(inferRequest(), served, 10)
    const raw = Buffer.alloc(24)
    ;[1, 2, 3, 4, 5, 6].forEach((value, i) => raw.writeFloatLE(value, i * 4))
    const rawRequest = inferRequest({ raw_input_contents: [raw] }, { contents: null })
    const decoded = decodeFeatureTensor(rawRequest, served, 10)
    expect(typed).toMatchObject({ count: 2, raw: false })
    expect(decoded).toMatchObject({ count: 2, raw: true })
    expect(Array.from(decoded.values)).toEqual(Array.from(typed.values))
  })

  it('names the field of a bad tensor', () => {
    const cases: [ModelInferRequest, RegExp][] = [
      [inferRequest({}, { name: 'x' }), /^inputs\[0\]\.name: expected "features"/u],
      [inferRequest({}, { datatype: 'FP64' }), /^inputs\[0\]\.datatype: expected FP32, got "FP64"/u],
      [inferRequest({}, { shape: [2, 4] }), /^inputs\[0\]\.shape: expected \[N, 3\]/u],
      [inferRequest({}, { shape: [11, 3] }), /^inputs\[0\]\.shape: at most 10 rows per request, got 11/u],
      [inferRequest({}, { shape: [3, 3] }), /^inputs\[0\]\.contents\.fp32_contents: expected 9 values for shape \[3, 3\], got 6/u],
      [inferRequest({ raw_input_contents: [Buffer.alloc(20)] }, { contents: null }), /^raw_input_contents\[0\]: expected 24 bytes/u],
      [inferRequest({ raw_input_contents: [Buffer.alloc(24)] }), /^inputs\[0\]\.contents: must be empty when raw_input_contents is used/u],
    ]
    for (const [request, expected] of cases) {
      const error = caught(() => decodeFeatureTensor(request, served, 10))
      expect(error.code).toBe(status.INVALID_ARGUMENT)
      expect(error.message).toMatch(expected)
    }
  })
})

describe('call deadlines', () => {
  it('fails DEADLINE_EXCEEDED once the deadline has passed, and a slow step with the caller\'s error', async () => {
    expect(() => { new CallScope(Date.now() - 1).check() }).toThrow(/deadline exceeded/u)
    expect(new CallScope(Number.POSITIVE_INFINITY).remainingMs()).toBe(Number.POSITIVE_INFINITY)
    const never = new Promise<never>(() => undefined)
    await expect(new CallScope(Date.now() + 20).within(never)).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED })
    await expect(new CallScope(Number.POSITIVE_INFINITY).within(never, 10, () => new GatewayError(status.UNAVAILABLE, 'slow'))).rejects.toMatchObject({ code: status.UNAVAILABLE })
    await expect(new CallScope(Number.POSITIVE_INFINITY).within(Promise.resolve(7), 10)).resolves.toBe(7)
  })
})

describe('churn watch --min-risk', () => {
  const score = (probability: number, riskBand: FeedScore['riskBand']): FeedScore => ({ customerId: 'c', probability, riskBand, modelVersion: 'v', featureSetVersion: 'f', featureAgeMs: 0, reasons: [], fallbackLevel: 'champion', sourceEventTime: 0, scoredAt: 0, partition: 0, offset: '0' })

  it('takes a probability or a risk band, and refuses anything else', () => {
    expect(riskFilter('0.5')(score(0.5, 'high'))).toBe(true)
    expect(riskFilter('0.5')(score(0.49, 'high'))).toBe(false)
    expect(riskFilter('high')(score(0.4, 'high'))).toBe(true)
    expect(riskFilter('high')(score(0.9, 'critical'))).toBe(true)
    expect(riskFilter('high')(score(0.3, 'medium'))).toBe(false)
    expect(() => riskFilter('1.5')).toThrow(/--min-risk: expected a probability from 0 to 1 or a risk band/u)
  })
})
