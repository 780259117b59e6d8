import { Client, credentials as channelCredentials, Metadata, type ClientReadableStream, type MethodDefinition, type ServiceError } from '@grpc/grpc-js'
import { gatewayPackageDefinition, serviceNames } from './protos.js'
import type {
  ExplainResponse,
  FeatureVectorMessage,
  ModelInfoMessage,
  ScoreCustomerRequest,
  ScoreCustomerResponse,
  ScoreManyResponse,
  ScoreRawResponse,
  StreamedScore,
  StreamScoresRequest,
} from './types.js'

export interface GatewayClientOptions {
  /** `host:port` of the gateway. */
  address: string
  /** Sent as `x-api-key` on every call. */
  apiKey?: string
  /**
   * Use TLS, trusting these PEM root certificates (or the system's when `ca` is absent);
   * `serverName` is the name the certificate must carry when it differs from the address's host.
   */
  tls?: { ca?: Buffer; serverName?: string }
}

export interface CallOptions {
  /** Deadline of the call, from now. @default none */
  timeoutMs?: number
}

type Service = keyof typeof serviceNames

/** A feature vector to send: `named` or `values` (the rest defaults). */
export type FeatureVectorInput = Partial<FeatureVectorMessage>

/** A `ServiceError` (a call that ended with a non-OK status). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'metadata' in error
}

/**
 * A client of the gateway's services over one channel: typed calls for `churn.v1.ScoringService`,
 * and `call` for any unary method of the services it serves (the Open Inference Protocol, health).
 */
export class GatewayClient {
  readonly #client: Client
  readonly #apiKey: string | undefined

  constructor(options: GatewayClientOptions) {
    const credentials = options.tls === undefined ? channelCredentials.createInsecure() : channelCredentials.createSsl(options.tls.ca ?? null)
    const serverName = options.tls?.serverName
    this.#client = new Client(options.address, credentials, serverName === undefined ? {} : { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName })
    this.#apiKey = options.apiKey
  }

  #method(service: Service, method: string): MethodDefinition<unknown, unknown> {
    const definition = gatewayPackageDefinition()[serviceNames[service]]
    const found = definition !== undefined && !('format' in definition) ? definition[method] : undefined
    if (found === undefined) throw new Error(`${serviceNames[service]} has no method ${method}`)
    return found as MethodDefinition<unknown, unknown>
  }

  #metadata(): Metadata {
    const metadata = new Metadata()
    if (this.#apiKey !== undefined) metadata.set('x-api-key', this.#apiKey)
    return metadata
  }

  #deadline(options: CallOptions): { deadline?: number } {
    return options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs }
  }

  /** Any unary method by name; rejects with a `ServiceError` carrying the status code. */
  call<Res>(service: Service, method: string, request: unknown, options: CallOptions = {}): Promise<Res> {
    const definition = this.#method(service, method)
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, request, this.#metadata(), this.#deadline(options), (error, response) => {
        if (error) reject(error)
        else resolve(response as Res)
      })
    })
  }

  scoreCustomer(request: Partial<ScoreCustomerRequest> & { customer_id: string }, options: CallOptions = {}): Promise<ScoreCustomerResponse> {
    return this.call('scoring', 'ScoreCustomer', request, options)
  }

  scoreRaw(request: { customer_id?: string; features: FeatureVectorInput; top_reasons?: number }, options: CallOptions = {}): Promise<ScoreRawResponse> {
    return this.call('scoring', 'ScoreRaw', request, options)
  }

  scoreMany(request: { customer_ids?: string[]; rows?: { customer_id?: string; features: FeatureVectorInput }[]; top_reasons?: number }, options: CallOptions = {}): Promise<ScoreManyResponse> {
    return this.call('scoring', 'ScoreMany', request, options)
  }

  explain(request: { customer_id?: string; features?: FeatureVectorInput }, options: CallOptions = {}): Promise<ExplainResponse> {
    return this.call('scoring', 'Explain', request, options)
  }

  modelInfo(options: CallOptions = {}): Promise<ModelInfoMessage> {
    return this.call('scoring', 'GetModelInfo', {}, options)
  }

  /** New scores as the gateway reads them; its `metadata` event means the subscription is in place. */
  streamScores(request: Partial<StreamScoresRequest>, options: CallOptions = {}): ClientReadableStream<StreamedScore> {
    const definition = this.#method('scoring', 'StreamScores')
    return this.#client.makeServerStreamRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, request, this.#metadata(), this.#deadline(options)) as ClientReadableStream<StreamedScore>
  }

  /** Resolves once the channel is connected, or rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#client.waitForReady(Date.now() + timeoutMs, (error) => {
        if (error) reject(error)
        else resolve()
      })
    })
  }

  close(): void {
    this.#client.close()
  }
}
