import { createHash, randomUUID } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import { ChurnError, ErrorCodes } from '../../core/errors.js'

export const transitions = ['registered', 'rejected', 'promoted', 'demoted', 'challenger_set', 'challenger_cleared', 'rolled_back'] as const
export type Transition = (typeof transitions)[number]
export type Alias = 'champion' | 'challenger'

export interface RegisterRequest {
  artifact: Uint8Array
  modelType: string
  featureSetVersion: string
  metrics: Record<string, number>
  params: Record<string, unknown>
  trainingWindow: { from: number; to: number }
  dataHash: string
  codeVersion: string
  actor: string
  reason?: string
}

export interface ModelVersion {
  modelName: string
  version: string
  createdAt: number
  modelType: string
  featureSetVersion: string
  artifactSha256: string
  metrics: Record<string, number>
  params: Record<string, unknown>
  trainingWindow: { from: number; to: number }
  dataHash: string
  codeVersion: string
}

export interface TransitionRecord {
  eventId: string
  modelName: string
  version: string
  transition: Transition
  alias: string
  previousVersion: string
  actor: string
  reason: string
  at: number
}

/** Which version each alias points at. */
export interface AliasState {
  champion?: string
  challenger?: string
  previousChampion?: string
  /** The newest registered logistic model not rejected: the scorers' fallback below the champions. */
  baseline?: string
}

/**
 * Told of every transition (and of each artifact once), e.g. to publish them on `churn.model.events`,
 * with the aliases as they stand after it: the newest event alone tells a reader where every alias points.
 */
export type TransitionListener = (record: TransitionRecord, version: ModelVersion, artifact: Uint8Array | undefined, state: AliasState) => Promise<void>

interface VersionRow {
  model_name: string
  version: string
  created_at: number | string
  model_type: string
  feature_set_version: string
  artifact_sha256: string
  metrics: string
  params: string
  training_from: number | string
  training_to: number | string
  data_hash: string
  code_version: string
}

const versionColumns = `model_name, version, toUnixTimestamp64Milli(created_at) AS created_at, model_type, feature_set_version, artifact_sha256, metrics, params,
  toUnixTimestamp64Milli(training_from) AS training_from, toUnixTimestamp64Milli(training_to) AS training_to, data_hash, code_version`

function toVersion(row: VersionRow): ModelVersion {
  return {
    modelName: row.model_name,
    version: row.version,
    createdAt: Number(row.created_at),
    modelType: row.model_type,
    featureSetVersion: row.feature_set_version,
    artifactSha256: row.artifact_sha256,
    metrics: JSON.parse(row.metrics) as Record<string, number>,
    params: JSON.parse(row.params) as Record<string, unknown>,
    trainingWindow: { from: Number(row.training_from), to: Number(row.training_to) },
    dataHash: row.data_hash,
    codeVersion: row.code_version,
  }
}

/**
 * The model registry in the offline store: versions with their ONNX artifact, metrics, parameters and
 * lineage, and an append-only log of transitions from which the `champion` and `challenger` aliases
 * are derived. Every transition is handed to the listener (published on `churn.model.events`).
 */
export class ModelRegistry {
  readonly #client: ClickHouseClient
  readonly #modelName: string
  readonly #listener: TransitionListener | undefined

  constructor(client: ClickHouseClient, options: { modelName?: string; onTransition?: TransitionListener } = {}) {
    this.#client = client
    this.#modelName = options.modelName ?? 'churn'
    this.#listener = options.onTransition
  }

  async register(request: RegisterRequest): Promise<ModelVersion> {
    const count = await this.#scalar('SELECT count() AS n FROM model_versions FINAL WHERE model_name = {model:String}')
    const version: ModelVersion = {
      modelName: this.#modelName,
      version: `v${count + 1}`,
      createdAt: Date.now(),
      modelType: request.modelType,
      featureSetVersion: request.featureSetVersion,
      artifactSha256: createHash('sha256').update(request.artifact).digest('hex'),
      metrics: request.metrics,
      params: request.params,
      trainingWindow: request.trainingWindow,
      dataHash: request.dataHash,
      codeVersion: request.codeVersion,
    }
    await this.#client.insert({
      table: 'model_versions',
      format: 'JSONEachRow',
      values: [
        {
          model_name: version.modelName,
          version: version.version,
          created_at: version.createdAt,
          model_type: version.modelType,
          feature_set_version: version.featureSetVersion,
          artifact_base64: Buffer.from(request.artifact).toString('base64'),
          artifact_sha256: version.artifactSha256,
          metrics: JSON.stringify(version.metrics),
          params: JSON.stringify(version.params),
          training_from: version.trainingWindow.from,
          training_to: version.trainingWindow.to,
          data_hash: version.dataHash,
          code_version: version.codeVersion,
        },
      ],
    })
    await this.#transition(version, 'registered', '', '', request.actor, request.reason ?? 'trained', request.artifact)
    return version
  }

  async get(version: string): Promise<ModelVersion> {
    const rows = await this.#rows<VersionRow>(`SELECT ${versionColumns} FROM model_versions FINAL WHERE model_name = {model:String} AND version = {version:String}`, { version })
    const [row] = rows
    if (row === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `model ${this.#modelName} has no version ${version}`)
    return toVersion(row)
  }

  async artifact(version: string): Promise<Uint8Array> {
    const rows = await this.#rows<{ artifact_base64: string }>('SELECT artifact_base64 FROM model_versions FINAL WHERE model_name = {model:String} AND version = {version:String}', { version })
    const [row] = rows
    if (row === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `model ${this.#modelName} has no version ${version}`)
    return Buffer.from(row.artifact_base64, 'base64')
  }

  async list(): Promise<ModelVersion[]> {
    const rows = await this.#rows<VersionRow>(`SELECT ${versionColumns} FROM model_versions FINAL WHERE model_name = {model:String} ORDER BY created_at`)
    return rows.map(toVersion)
  }

  async history(): Promise<TransitionRecord[]> {
    const rows = await this.#rows<{ event_id: string; model_name: string; version: string; transition: Transition; alias: string; previous_version: string; actor: string; reason: string; at: number | string }>(
      'SELECT event_id, model_name, version, transition, alias, previous_version, actor, reason, toUnixTimestamp64Milli(at) AS at FROM model_transitions WHERE model_name = {model:String} ORDER BY at, event_id',
    )
    return rows.map((row) => ({ eventId: row.event_id, modelName: row.model_name, version: row.version, transition: row.transition, alias: row.alias, previousVersion: row.previous_version, actor: row.actor, reason: row.reason, at: Number(row.at) }))
  }

  /** The current aliases, replayed from the transition log. */
  async aliases(): Promise<{ champion?: string; challenger?: string; previousChampion?: string }> {
    let champion: string | undefined
    let previousChampion: string | undefined
    let challenger: string | undefined
    for (const record of await this.history()) {
      if (record.alias === 'champion' && (record.transition === 'promoted' || record.transition === 'rolled_back')) {
        champion = record.version
        previousChampion = record.previousVersion === '' ? undefined : record.previousVersion
        if (challenger === record.version) challenger = undefined
      }
      if (record.transition === 'challenger_set') challenger = record.version
      if (record.transition === 'challenger_cleared') challenger = undefined
    }
    return { ...(champion === undefined ? {} : { champion }), ...(challenger === undefined ? {} : { challenger }), ...(previousChampion === undefined ? {} : { previousChampion }) }
  }

  /** The aliases and the fallback baseline, as a scorer needs them. */
  async state(): Promise<AliasState> {
    const [baseline] = await this.#rows<{ version: string }>(
      `SELECT version FROM model_versions FINAL WHERE model_name = {model:String} AND model_type = 'logistic'
         AND version NOT IN (SELECT version FROM model_transitions WHERE model_name = {model:String} AND transition = 'rejected')
       ORDER BY created_at DESC, version DESC LIMIT 1`,
    )
    return { ...(await this.aliases()), ...(baseline === undefined ? {} : { baseline: baseline.version }) }
  }

  async promote(version: string, actor: string, reason: string): Promise<void> {
    const model = await this.get(version)
    const { champion } = await this.aliases()
    if (champion === version) throw new ChurnError(ErrorCodes.VALIDATION, `${version} is already the champion`)
    await this.#transition(model, 'promoted', 'champion', champion ?? '', actor, reason)
  }

  async setChallenger(version: string, actor: string, reason: string): Promise<void> {
    await this.#transition(await this.get(version), 'challenger_set', 'challenger', (await this.aliases()).challenger ?? '', actor, reason)
  }

  async reject(version: string, actor: string, reasons: readonly string[]): Promise<void> {
    await this.#transition(await this.get(version), 'rejected', '', '', actor, reasons.join('; '))
  }

  /** Points `champion` back at the version it had before the current one. */
  async rollback(actor: string, reason: string): Promise<string> {
    const { champion, previousChampion } = await this.aliases()
    if (champion === undefined || previousChampion === undefined) throw new ChurnError(ErrorCodes.VALIDATION, 'there is no previous champion to roll back to')
    await this.#transition(await this.get(previousChampion), 'rolled_back', 'champion', champion, actor, reason)
    return previousChampion
  }

  async #transition(version: ModelVersion, transition: Transition, alias: string, previousVersion: string, actor: string, reason: string, artifact?: Uint8Array): Promise<void> {
    // Transitions are ordered by time: never give one the same time as, or an earlier time than, the last.
    const last = await this.#scalar('SELECT toUnixTimestamp64Milli(max(at)) AS n FROM model_transitions WHERE model_name = {model:String}')
    const record: TransitionRecord = { eventId: randomUUID(), modelName: this.#modelName, version: version.version, transition, alias, previousVersion, actor, reason, at: Math.max(Date.now(), last + 1) }
    await this.#client.insert({
      table: 'model_transitions',
      format: 'JSONEachRow',
      values: [{ event_id: record.eventId, model_name: record.modelName, version: record.version, transition, alias, previous_version: previousVersion, actor, reason, at: record.at }],
    })
    if (this.#listener !== undefined) await this.#listener(record, version, artifact, await this.state())
  }

  async #rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    return (await this.#client.query({ query, query_params: { model: this.#modelName, ...params }, format: 'JSONEachRow' })).json<T>()
  }

  async #scalar(query: string): Promise<number> {
    const [row] = await this.#rows<{ n: number | string }>(query)
    return Number(row?.n ?? 0)
  }
}
