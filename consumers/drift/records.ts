import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Batch, KafkaMessage, Message } from 'kafkajs'
import { z } from 'zod'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { CancellationInput } from '../../drift/monitor.js'
import type { FeatureVectorInput, ScoreInput } from '../../drift/windows.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicCatalog } from '../../schemas/catalog.js'
import { AvroCodec, decodeFailures, type DecodeOutcome } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { customerIdSchema, describeIssues } from '../../schemas/events.js'
import { featureVectorSchema } from '../offline-sink/feature-snapshots.js'

/** Scores of these fallback levels come from no model (declared rules, the base rate): they have no reference. */
const modelLessLevels: ReadonlySet<string> = new Set(['rules', 'base_rate'])

/** The fields of a decoded `churn.scores.ChurnScore` (schemas/avro/churn-score.avsc) the drift role reads. */
const churnScoreSchema = z.object({
  customer_id: customerIdSchema,
  probability: z.number().min(0).max(1),
  model_version: z.string().min(1),
  fallback_level: z.string(),
  source_event_time: z.number().int().min(0),
})

/** A consumed record, as the monitor takes it. */
export type DriftInputRecord =
  | { readonly kind: 'features'; readonly vector: FeatureVectorInput }
  /** `fromModel` false: a rules or base-rate score, which only moves the watermark. */
  | { readonly kind: 'score'; readonly score: ScoreInput; readonly fromModel: boolean }
  | { readonly kind: 'cancellation'; readonly cancellation: CancellationInput }
  /** Any other customer event: only its event time matters (the watermark). */
  | { readonly kind: 'event'; readonly eventTime: number }

export interface DecodedDriftBatch {
  /** In offset order. */
  readonly records: DriftInputRecord[]
  /** For the input topic's dead-letter topic. */
  readonly deadLetters: Message[]
}

export const driftStage = 'drift'

/**
 * Decodes batches of the drift role's three inputs. A record that can never be used (not the wire format, an unknown
 * or unreadable schema, content that breaks the contract) becomes a dead letter with the reason; a registry outage
 * throws instead, so the batch is consumed again rather than dead-lettered.
 */
export class DriftDecoders {
  readonly #catalog: TopicCatalog
  readonly #vectors: AvroCodec
  readonly #scores: AvroCodec
  readonly #events: CustomerEventCodec

  constructor(registry: SchemaRegistry, catalog: TopicCatalog) {
    this.#catalog = catalog
    this.#vectors = new AvroCodec(registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`)
    this.#scores = new AvroCodec(registry, loadSchema('churnScore'), `${catalog.scores.name}-value`)
    this.#events = new CustomerEventCodec(registry, catalog.customerEvents)
  }

  /** The topics decoded, in the order the role subscribes to them. */
  get topics(): string[] {
    return [this.#catalog.customerFeatures.name, this.#catalog.scores.name, this.#catalog.customerEvents.name]
  }

  async decode(batch: Batch): Promise<DecodedDriftBatch> {
    const records: DriftInputRecord[] = []
    const deadLetters: Message[] = []
    const dead = (message: KafkaMessage, reason: string, error: string): void => {
      deadLetters.push(deadLetterMessage(message, { topic: batch.topic, partition: batch.partition, reason, error, stage: driftStage }))
    }
    const { customerFeatures, scores, customerEvents } = this.#catalog
    for (const message of batch.messages) {
      let outcome: DecodeOutcome<DriftInputRecord>
      if (batch.topic === customerFeatures.name) outcome = vectorRecord(await this.#vectors.decode(message.value))
      else if (batch.topic === scores.name) outcome = scoreRecord(await this.#scores.decode(message.value))
      else if (batch.topic === customerEvents.name) outcome = eventRecord(await this.#events.decode(message.value))
      else throw new ChurnError(ErrorCodes.VALIDATION, `the drift role does not read ${batch.topic}`)
      if (outcome.ok) records.push(outcome.value)
      else dead(message, outcome.reason, outcome.message)
    }
    return { records, deadLetters }
  }
}

function invalid(issues: z.ZodError, schemaId: number): DecodeOutcome<never> {
  return { ok: false, reason: decodeFailures.INVALID_CONTENT, message: describeIssues(issues), schemaId }
}

function vectorRecord(decoded: DecodeOutcome<unknown>): DecodeOutcome<DriftInputRecord> {
  if (!decoded.ok) return decoded
  const parsed = featureVectorSchema.safeParse(decoded.value)
  if (!parsed.success) return invalid(parsed.error, decoded.schemaId)
  const vector = parsed.data
  return {
    ok: true,
    schemaId: decoded.schemaId,
    value: { kind: 'features', vector: { customerId: vector.customer_id, eventTime: vector.newest_event_time, featureSetVersion: vector.feature_set_version, values: vector.values } },
  }
}

function scoreRecord(decoded: DecodeOutcome<unknown>): DecodeOutcome<DriftInputRecord> {
  if (!decoded.ok) return decoded
  const parsed = churnScoreSchema.safeParse(decoded.value)
  if (!parsed.success) return invalid(parsed.error, decoded.schemaId)
  const score = parsed.data
  return {
    ok: true,
    schemaId: decoded.schemaId,
    value: {
      kind: 'score',
      score: { customerId: score.customer_id, eventTime: score.source_event_time, probability: score.probability, modelVersion: score.model_version },
      fromModel: !modelLessLevels.has(score.fallback_level),
    },
  }
}

function eventRecord(decoded: Awaited<ReturnType<CustomerEventCodec['decode']>>): DecodeOutcome<DriftInputRecord> {
  if (!decoded.ok) return decoded
  const event = decoded.value
  const value: DriftInputRecord = event.type === 'cancellation'
    ? { kind: 'cancellation', cancellation: { customerId: event.customer_id, eventTime: event.event_time } }
    : { kind: 'event', eventTime: event.event_time }
  return { ok: true, schemaId: decoded.schemaId, value }
}
