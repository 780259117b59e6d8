import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Client, credentials, Metadata, status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { afterAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { isChurnError } from '../../core/errors.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet } from '../../feature-store/feature-set.js'
import { OnlineStore } from '../../feature-store/online/online-store.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { GatewayClient, hashApiKey, startGateway, type Gateway, type ModelInferRequest, type ModelInferResponse, type StreamedScore } from '../../scoring/gateway/index.js'
import { tempDir, testCatalog, testKafka, testRoleContext, uniqueName } from '../support/factories.js'
import { publishingModelRegistry, trainedArtifacts } from '../support/models.js'

const featureSet = new FeatureSet(churnFeatures)
const names = featureSet.names
const cols = names.length
const kafka = testKafka()
const catalog = await testCatalog(kafka, 2)
const context = testRoleContext(catalog)
const registry = await publishingModelRegistry(kafka, context, 'gateway')
const producer = createIdempotentProducer(kafka)
await producer.connect()

const API_KEY = `key-${uniqueName('k')}`
const MAX_ROWS = 50
const keyPrefix = `${uniqueName('t')}:`
const artifacts = trainedArtifacts(names, featureSet.version, { seed: 11 })
const champion = await registry.register({ artifact: artifacts.gbdt, modelType: 'gbdt', featureSetVersion: featureSet.version, metrics: { roc_auc: 0.8 }, params: {}, trainingWindow: { from: 0, to: 1 }, dataHash: 'h', codeVersion: 'test', actor: 'test' })
await registry.promote(champion.version, 'test', 'gateway champion')

/** Row `i` of the models' sample rows (NaN marks missing values), as the online store holds it. */
const row = (i: number): number[] => Array.from(artifacts.sample.subarray((i % 20) * cols, ((i % 20) + 1) * cols))
const customers = Array.from({ length: 10 }, (_, i) => `c${i}`)
const asOf = Date.now() - 3_600_000
const store = new OnlineStore(await context.redis(), { keyPrefix })
await store.writeStates(customers.map((customerId, i) => ({ customerId, partition: 0, offset: i, state: { ...featureSet.emptyState(), newest: asOf }, vector: Float64Array.from(row(i)) })), featureSet.version)

const gateway = await startGateway(context, featureSet, { host: '127.0.0.1', port: 0, keyPrefix, maxRows: MAX_ROWS, maxReceiveMessageBytes: 64 * 1_024, apiKeyHashes: [hashApiKey(API_KEY)], modelCatchUpMs: 20_000 })
const client = new GatewayClient({ address: gateway.address, apiKey: API_KEY })

afterAll(async () => {
  client.close()
  await gateway.close()
  await (await context.redis()).del(...customers.map((id) => store.key(id)))
  await producer.disconnect()
})

async function failure(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call
  } catch (error) {
    return error as ServiceError
  }
  throw new Error('expected the call to fail')
}

const logit = (p: number): number => Math.log(p / (1 - p))

/** Values as they travel in a proto `repeated double`/map (NaN included). */
const named = (values: readonly number[]): Record<string, number> => Object.fromEntries(names.flatMap((name, j) => (Number.isNaN(values[j]) ? [] : [[name, values[j] ?? 0]])))

function collect(stream: ClientReadableStream<StreamedScore>, count: number, timeoutMs = 20_000): Promise<StreamedScore[]> {
  const read: StreamedScore[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { resolve(read) }, timeoutMs)
    stream.on('data', (message: StreamedScore) => {
      read.push(message)
      if (read.length >= count) {
        clearTimeout(timer)
        resolve(read)
      }
    })
    stream.on('error', (error: ServiceError) => {
      if (error.code !== status.CANCELLED) reject(error)
    })
  })
}

const subscribed = (stream: ClientReadableStream<StreamedScore>): Promise<void> => new Promise((resolve, reject) => {
  stream.once('metadata', () => { resolve() })
  stream.once('error', reject)
})

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'churn.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 45_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

async function selfSignedCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  await new Promise<void>((resolve, reject) => {
    execFile('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath], (error) => {
      if (error) reject(new Error(`openssl failed: ${error.message}`))
      else resolve()
    })
  })
  return { certPath, keyPath }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

const scoreCodec = new AvroCodec(context.registry, loadSchema('churnScore'), `${catalog.scores.name}-value`)
await scoreCodec.schemaId()
async function publishScores(scores: { customer: string; probability: number; band: string }[]): Promise<void> {
  const now = Date.now()
  await producer.send({
    topic: catalog.scores.name,
    acks: -1,
    messages: scores.map(({ customer, probability, band }) => ({
      key: customer,
      value: scoreCodec.encode({ customer_id: customer, probability, risk_band: band, model_version: champion.version, feature_set_version: featureSet.version, feature_age_ms: 5_000, top_reasons: [{ feature: names[0], contribution: 0.4, value: 3 }], fallback_level: 'champion', source_event_time: now - 5_000, scored_at: now }),
    })),
  })
}

describe('gateway role', () => {
  it('scores a customer from the online store with the age of its features, and says NOT_FOUND for one it does not hold', async () => {
    const response = await client.scoreCustomer({ customer_id: 'c3' })
    expect(response.score).toMatchObject({ customer_id: 'c3', model_version: champion.version, fallback_level: 'FALLBACK_LEVEL_CHAMPION', feature_set_version: featureSet.version })
    expect(response.score?.probability).toBeGreaterThan(0)
    expect(response.score?.probability).toBeLessThan(1)
    expect(response.score?.reasons).toHaveLength(3)
    expect(response.features_as_of_ms).toBe(asOf)
    expect(response.feature_age_ms).toBeGreaterThanOrEqual(3_600_000)
    expect(response.feature_age_ms).toBeLessThan(3_600_000 + 60_000)
    expect((await client.scoreCustomer({ customer_id: 'c3', top_reasons: 5 })).score?.reasons).toHaveLength(5)

    const missing = await failure(client.scoreCustomer({ customer_id: 'nobody' }))
    expect(missing.code).toBe(status.NOT_FOUND)
    expect(missing.details).toMatch(/customer "nobody" has no features in the online store/u)
    expect((await failure(client.scoreCustomer({ customer_id: '' }))).code).toBe(status.INVALID_ARGUMENT)
  })

  it('scores raw features exactly as the same features read from Redis, and names the invalid field', async () => {
    const byId = await client.scoreCustomer({ customer_id: 'c4' })
    const byValues = await client.scoreRaw({ customer_id: 'x', features: { values: row(4) } })
    const byName = await client.scoreRaw({ features: { named: named(row(4)) } })
    expect(byValues.score?.probability).toBe(byId.score?.probability)
    expect(byName.score?.probability).toBe(byId.score?.probability)
    expect(byValues.score?.customer_id).toBe('x')

    const short = await failure(client.scoreRaw({ features: { values: row(4).slice(1) } }))
    expect(short.code).toBe(status.INVALID_ARGUMENT)
    expect(short.details).toMatch(new RegExp(`^features\\.values: expected ${cols} values`, 'u'))
    expect(short.metadata.get('churn-field')).toEqual(['features.values'])
    const unknown = await failure(client.scoreRaw({ features: { named: { no_such_feature: 1 } } }))
    expect(unknown.code).toBe(status.INVALID_ARGUMENT)
    expect(unknown.details).toMatch(/^features\.named\["no_such_feature"\]: not a feature of feature set/u)
    const infinite = await failure(client.scoreRaw({ features: { named: { [names[2] ?? '']: Number.POSITIVE_INFINITY } } }))
    expect(infinite.details).toMatch(new RegExp(`^features\\.named\\["${names[2] ?? ''}"\\]: feature ${names[2] ?? ''}: expected a finite number`, 'u'))
  })

  it('scores many customers and rows in one call, reports unknown customers per item, and keeps to the row limit', async () => {
    const response = await client.scoreMany({ customer_ids: ['c1', 'ghost', 'c2'], rows: [{ customer_id: 'r0', features: { values: row(1) } }] })
    expect(response.results).toHaveLength(4)
    const [c1, ghost, c2, r0] = response.results
    expect(c1?.score?.customer_id).toBe('c1')
    expect(c1?.features_as_of_ms).toBe(asOf)
    expect(ghost?.score).toBeNull()
    expect(ghost?.error).toMatchObject({ code: status.NOT_FOUND })
    expect(c2?.score?.customer_id).toBe('c2')
    expect(r0?.score?.probability).toBe(c1?.score?.probability)
    expect((await client.scoreCustomer({ customer_id: 'c2' })).score?.probability).toBe(c2?.score?.probability)

    const tooMany = await failure(client.scoreMany({ customer_ids: Array.from({ length: MAX_ROWS + 1 }, (_, i) => `c${i % 10}`) }))
    expect(tooMany.code).toBe(status.INVALID_ARGUMENT)
    expect(tooMany.details).toMatch(new RegExp(`at most ${MAX_ROWS} items per request, got ${MAX_ROWS + 1}`, 'u'))
    const badRow = await failure(client.scoreMany({ customer_ids: ['c1'], rows: [{ features: { values: row(1) } }, { features: { values: [1] } }] }))
    expect(badRow.details).toMatch(/^rows\[1\]\.features\.values: expected/u)
  })

  it('explains a customer with every feature\'s contribution: expected value + contributions = logit(probability)', async () => {
    for (const customer of ['c0', 'c5']) {
      const response = await client.explain({ customer_id: customer })
      const probability = response.score?.probability ?? Number.NaN
      expect(response.contributions.map((c) => c.feature)).toEqual([...names])
      const total = (response.expected_value ?? Number.NaN) + response.contributions.reduce((sum, c) => sum + c.contribution, 0)
      expect(Math.abs(total - logit(probability))).toBeLessThan(1e-4)
      expect(response.feature_age_ms).toBeGreaterThanOrEqual(3_600_000)
      // Missing values come back absent; present ones as the model saw them.
      const values = row(Number(customer.slice(1)))
      response.contributions.forEach((c, j) => { expect(c.value ?? Number.NaN).toEqual(Math.fround(values[j] ?? Number.NaN)) })
    }
    const raw = await client.explain({ features: { values: row(5) } })
    expect(raw.score?.probability).toBe((await client.explain({ customer_id: 'c5' })).score?.probability)
    expect((await failure(client.explain({}))).code).toBe(status.INVALID_ARGUMENT)
  })

  it('streams new scores above a threshold, and for chosen customers only', async () => {
    const high = client.streamScores({ min_probability: 0.5 })
    const chosen = client.streamScores({ customer_ids: ['s1'] })
    try {
      await Promise.all([subscribed(high), subscribed(chosen)])
      const [fromHigh, fromChosen] = [collect(high, 3), collect(chosen, 2)]
      await publishScores([
        { customer: 's0', probability: 0.2, band: 'medium' },
        { customer: 's1', probability: 0.3, band: 'medium' },
        { customer: 's2', probability: 0.7, band: 'critical' },
        { customer: 's3', probability: 0.9, band: 'critical' },
        { customer: 's1', probability: 0.8, band: 'critical' },
      ])
      const above = await fromHigh
      const mine = await fromChosen
      expect(above.map((s) => `${s.score?.customer_id ?? ''}:${s.score?.probability ?? 0}`).sort()).toEqual(['s1:0.8', 's2:0.7', 's3:0.9'])
      expect(mine.map((s) => s.score?.probability)).toEqual([0.3, 0.8])
      expect(mine[0]).toMatchObject({ feature_age_ms: 5_000, score: { risk_band: 'RISK_BAND_MEDIUM', fallback_level: 'FALLBACK_LEVEL_CHAMPION', reasons: [{ feature: names[0], contribution: 0.4, value: 3 }] } })
      const gauge = await context.metrics.getSingleMetric('churn_gateway_open_streams')?.get()
      expect(gauge?.values[0]?.value).toBe(2)
    } finally {
      high.cancel()
      chosen.cancel()
    }
  })

  it('reports the models it serves, answers health checks SERVING, and lists every service by reflection', async () => {
    const info = await client.modelInfo()
    expect(info).toMatchObject({ feature_set_version: featureSet.version, max_rows: MAX_ROWS, inference_model_name: 'churn', champion: { version: champion.version, model_type: 'gbdt' }, previous_champion: null })
    expect(info.features.map((f) => f.name)).toEqual([...names])
    expect(info.champion?.metrics['positive_rate']).toBeGreaterThan(0)

    // Health and reflection need no API key.
    const anonymous = new GatewayClient({ address: gateway.address })
    try {
      for (const service of ['', 'churn.v1.ScoringService', 'inference.GRPCInferenceService']) {
        expect(await anonymous.call('health', 'Check', { service })).toEqual({ status: 'SERVING' })
      }
    } finally {
      anonymous.close()
    }

    const reflectionProto = loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, defaults: true, oneofs: true, includeDirs: [join(projectRoot, 'node_modules', '@grpc', 'reflection', 'build', 'proto')] })
    const method = (reflectionProto['grpc.reflection.v1.ServerReflection'] as Record<string, { path: string; requestSerialize: (value: unknown) => Buffer; responseDeserialize: (bytes: Buffer) => unknown }>)['ServerReflectionInfo']
    if (method === undefined) throw new Error('no reflection method')
    const raw = new Client(gateway.address, credentials.createInsecure())
    try {
      const ask = (request: object): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
        const call: ClientDuplexStream<unknown, Record<string, unknown>> = raw.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize as (bytes: Buffer) => Record<string, unknown>, new Metadata())
        call.on('data', (response: Record<string, unknown>) => {
          resolve(response)
          call.end()
        })
        call.on('error', reject)
        call.write(request)
      })
      const listed = await ask({ list_services: '' }) as { list_services_response: { service: { name: string }[] } }
      expect(listed.list_services_response.service.map((s) => s.name).sort()).toEqual(['churn.v1.ScoringService', 'grpc.health.v1.Health', 'inference.GRPCInferenceService'])
      const file = await ask({ file_containing_symbol: 'churn.v1.ScoringService' }) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } }
      expect(file.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0)
    } finally {
      raw.close()
    }
  })

  it('speaks the Open Inference Protocol for the champion: ModelInfer gives what ScoreRaw gives, from contents or raw bytes', async () => {
    expect(await client.call('inference', 'ServerLive', {})).toEqual({ live: true })
    expect(await client.call('inference', 'ServerReady', {})).toEqual({ ready: true })
    expect(await client.call('inference', 'ModelReady', { name: 'churn' })).toEqual({ ready: true })
    expect(await client.call('inference', 'ServerMetadata', {})).toMatchObject({ name: 'churn-gateway' })
    expect(await client.call('inference', 'ModelMetadata', { name: 'churn' })).toEqual({
      name: 'churn',
      versions: [champion.version],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, cols] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1] }],
    })

    const rows = [0, 1, 2, 7].map(row)
    const expected = await Promise.all(rows.map(async (values) => (await client.scoreRaw({ features: { values } })).score?.probability))
    const flat = rows.flat()
    const request: Partial<ModelInferRequest> = { model_name: 'churn', id: 'req-1', inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, cols], parameters: {}, contents: { fp32_contents: flat } as ModelInferRequest['inputs'][number]['contents'] }] }
    const typed = await client.call<ModelInferResponse>('inference', 'ModelInfer', request)
    expect(typed).toMatchObject({ model_name: 'churn', model_version: champion.version, id: 'req-1', outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [rows.length] }] })
    expect(typed.parameters['fallback_level']?.string_param).toBe('champion')
    expect(typed.outputs[0]?.contents?.fp32_contents).toEqual(expected)

    const bytes = Buffer.alloc(flat.length * 4)
    flat.forEach((value, i) => bytes.writeFloatLE(value, i * 4))
    const rawRequest = { model_name: 'churn', inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, cols] }], raw_input_contents: [bytes] }
    const raw = await client.call<ModelInferResponse>('inference', 'ModelInfer', rawRequest)
    const out = raw.raw_output_contents[0] ?? Buffer.alloc(0)
    expect(Array.from({ length: rows.length }, (_, i) => out.readFloatLE(i * 4))).toEqual(expected)

    expect((await failure(client.call('inference', 'ModelInfer', { ...request, model_name: 'other' }))).code).toBe(status.NOT_FOUND)
    const badShape = await failure(client.call('inference', 'ModelInfer', { ...rawRequest, inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, cols - 1] }] }))
    expect(badShape.code).toBe(status.INVALID_ARGUMENT)
    expect(badShape.details).toMatch(/^inputs\[0\]\.shape: expected \[N, \d+\]/u)
  })

  it('wants a valid API key for scoring and inference calls, but not for health', async () => {
    for (const apiKey of [undefined, 'wrong-key']) {
      const other = new GatewayClient({ address: gateway.address, ...(apiKey === undefined ? {} : { apiKey }) })
      try {
        expect((await failure(other.scoreCustomer({ customer_id: 'c1' }))).code).toBe(status.UNAUTHENTICATED)
        expect((await failure(other.call('inference', 'ModelInfer', { model_name: 'churn' }))).code).toBe(status.UNAUTHENTICATED)
        const stream = other.streamScores({})
        const refused = await new Promise<ServiceError>((resolve) => { stream.on('error', resolve) })
        expect(refused.code).toBe(status.UNAUTHENTICATED)
        expect(await other.call('health', 'Check', { service: '' })).toEqual({ status: 'SERVING' })
      } finally {
        other.close()
      }
    }
    expect((await client.scoreCustomer({ customer_id: 'c1' })).score?.customer_id).toBe('c1')
  })

  it('ends calls at their deadline and refuses messages beyond the size limit', async () => {
    const rows = Array.from({ length: MAX_ROWS }, (_, i) => ({ features: { values: row(i) } }))
    const late = await failure(client.scoreMany({ rows }, { timeoutMs: 1 }))
    expect(late.code).toBe(status.DEADLINE_EXCEEDED)
    // Just within the limits it works.
    expect((await client.scoreMany({ rows }, { timeoutMs: 10_000 })).results).toHaveLength(MAX_ROWS)
    const huge = { model_name: 'churn', inputs: [{ name: 'features', datatype: 'FP32', shape: [MAX_ROWS, cols] }], raw_input_contents: [Buffer.alloc(128 * 1_024)] }
    expect((await failure(client.call('inference', 'ModelInfer', huge))).code).toBe(status.RESOURCE_EXHAUSTED)
  })

  it('fails UNAVAILABLE within 2 s while Redis is down, and still scores raw features', async () => {
    const down = await startGateway(context, featureSet, { host: '127.0.0.1', port: 0, keyPrefix, redisUrl: `redis://127.0.0.1:${await freePort()}`, modelCatchUpMs: 20_000 })
    const other = new GatewayClient({ address: down.address })
    try {
      const started = Date.now()
      const error = await failure(other.scoreCustomer({ customer_id: 'c1' }, { timeoutMs: 10_000 }))
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(error.code).toBe(status.UNAVAILABLE)
      expect(error.details).toMatch(/online store unavailable/u)
      expect((await failure(other.scoreMany({ customer_ids: ['c1'] }, { timeoutMs: 10_000 }))).code).toBe(status.UNAVAILABLE)
      expect((await other.scoreRaw({ features: { values: row(1) } })).score?.model_version).toBe(champion.version)
    } finally {
      other.close()
      await down.close()
    }
    expect(down.state).toBe('stopped')
  })

  it('serves over TLS when given a certificate and key', async () => {
    const tls = await selfSignedCertificate(tempDir('gateway-tls'))
    const secure = await startGateway(context, featureSet, { host: '127.0.0.1', port: 0, keyPrefix, tls, modelCatchUpMs: 20_000 })
    const trusted = new GatewayClient({ address: secure.address, tls: { ca: readFileSync(tls.certPath), serverName: 'localhost' } })
    const plaintext = new GatewayClient({ address: secure.address })
    try {
      expect((await trusted.scoreCustomer({ customer_id: 'c2' })).score?.customer_id).toBe('c2')
      expect((await failure(plaintext.scoreCustomer({ customer_id: 'c2' }, { timeoutMs: 3_000 }))).code).not.toBe(status.OK)
    } finally {
      trusted.close()
      plaintext.close()
      await secure.close()
    }
  })

  it('refuses to listen beyond loopback without API keys', async () => {
    let caught: unknown
    try {
      const started: Gateway = await startGateway(context, featureSet, { host: '0.0.0.0', port: 0 })
      await started.close()
    } catch (error) {
      caught = error
    }
    expect(isChurnError(caught, 'CONFIG_INVALID')).toBe(true)
    expect(String(caught)).toMatch(/beyond loopback, without API keys: set GATEWAY_API_KEY_HASHES/u)
  })

  it('counts calls by method and status code, and times them', async () => {
    const counts = (await context.metrics.getSingleMetric('churn_gateway_requests_total')?.get())?.values ?? []
    const count = (method: string, code: string): number => counts.filter((v) => v.labels['method'] === method && v.labels['code'] === code).reduce((sum, v) => sum + v.value, 0)
    expect(count('ScoreCustomer', 'OK')).toBeGreaterThan(0)
    expect(count('ScoreCustomer', 'NOT_FOUND')).toBeGreaterThan(0)
    expect(count('ScoreCustomer', 'UNAUTHENTICATED')).toBe(2)
    expect(count('ScoreCustomer', 'UNAVAILABLE')).toBe(1)
    expect(count('ModelInfer', 'INVALID_ARGUMENT')).toBe(1)
    expect(count('StreamScores', 'CANCELLED')).toBe(2)
    const text = await context.metrics.metrics()
    expect(text).toMatch(/churn_gateway_request_duration_seconds_bucket\{[^}]*method="ScoreCustomer"/u)
  })

  it('churn score prints a customer\'s score and reasons through the gateway, as text or JSON', async () => {
    const env = { GATEWAY_ADDRESS: gateway.address, GATEWAY_API_KEY: API_KEY, TOPIC_PREFIX: catalog.prefix }
    const expected = (await client.scoreCustomer({ customer_id: 'c6' })).score
    const text = await runCli(['score', 'c6'], env)
    expect(text.stderr).toBe('')
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(new RegExp(`^customer c6: churn probability ${(expected?.probability ?? 0).toFixed(4)} \\(\\w+\\)$`, 'mu'))
    expect(text.stdout).toMatch(new RegExp(`model ${champion.version} \\(champion\\).*features 60 min old`, 'u'))
    for (const reason of expected?.reasons ?? []) expect(text.stdout).toContain(reason.feature)
    const json = await runCli(['score', 'c6', '--json'], env)
    expect(JSON.parse(json.stdout)).toMatchObject({ score: { customer_id: 'c6', probability: expected?.probability }, features_as_of_ms: asOf })
    const missing = await runCli(['score', 'nobody'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/NOT_FOUND: customer "nobody" has no features/u)
    const unauthenticated = await runCli(['score', 'c6'], { ...env, GATEWAY_API_KEY: 'wrong' })
    expect(unauthenticated.stderr).toMatch(/UNAUTHENTICATED/u)
  })

  it('churn run --roles gateway serves from the environment\'s settings until SIGTERM', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'churn.js'), 'run', '--roles', 'gateway'], {
      env: { ...process.env, TOPIC_PREFIX: catalog.prefix, ONLINE_KEY_PREFIX: keyPrefix, GATEWAY_PORT: String(port), GATEWAY_API_KEY_HASHES: hashApiKey(API_KEY), METRICS_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => { child.on('close', resolve) })
    const role = new GatewayClient({ address: `127.0.0.1:${port}`, apiKey: API_KEY })
    const anonymous = new GatewayClient({ address: `127.0.0.1:${port}` })
    try {
      const deadline = Date.now() + 45_000
      for (;;) {
        const health = await role.call<{ status: string }>('health', 'Check', { service: 'churn.v1.ScoringService' }, { timeoutMs: 1_000 }).catch(() => undefined)
        if (health?.status === 'SERVING') break
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the gateway role did not start: ${output}`)
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      const scored = await role.scoreCustomer({ customer_id: 'c7' })
      expect(scored.score).toMatchObject({ customer_id: 'c7', model_version: champion.version, probability: (await client.scoreCustomer({ customer_id: 'c7' })).score?.probability })
      expect((await failure(anonymous.scoreCustomer({ customer_id: 'c7' }))).code).toBe(status.UNAUTHENTICATED)
    } finally {
      role.close()
      anonymous.close()
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
  })

  it('churn watch prints the scores that pass its filters and stops by itself after --max', async () => {
    await publishScores([
      { customer: 'w1', probability: 0.95, band: 'critical' },
      { customer: 'w2', probability: 0.1, band: 'low' },
      { customer: 'w3', probability: 0.65, band: 'critical' },
    ])
    const env = { TOPIC_PREFIX: catalog.prefix }
    const watched = await runCli(['watch', '--from-beginning', '--min-risk', '0.6', '--customers', 's2,s3,w1,w3', '--max', '4', '--timeout', '30000', '--json'], env)
    expect(watched.code).toBe(0)
    const lines = watched.stdout.trim().split('\n').map((line) => JSON.parse(line) as { customerId: string; probability: number })
    // Partitions interleave in any order: compare as a set. s1 (0.8) is not among the customers asked for.
    expect(lines.map((s) => s.customerId).sort()).toEqual(['s2', 's3', 'w1', 'w3'])
    expect(lines.every((s) => s.probability >= 0.6)).toBe(true)
    expect(watched.stderr).toMatch(/watching .*churn\.scores from the oldest score/u)

    const timed = await runCli(['watch', '--timeout', '3000', '--min-risk', 'critical'], env)
    expect(timed.code).toBe(0)
    expect(timed.stdout).toBe('')
  })
})
