import type { SchemaName } from './avro.js'

export type CleanupPolicy = 'delete' | 'compact'

export interface TopicSpec {
  name: string
  partitions: number
  cleanupPolicy: CleanupPolicy
  /** Retention for `delete` topics; compacted topics keep the latest value per key. */
  retentionMs?: number
  /** Largest record batch the topic accepts (model artifacts need more than the default). */
  maxMessageBytes?: number
  /** Age at which the active segment is rolled; only rolled segments are compacted. @default the broker's (7 days) */
  segmentMs?: number
  /**
   * `LogAppendTime`: the broker stamps each record as it is appended. Retention then counts from arrival, so
   * history published late (a backfill, an import, a simulation) is kept like any other record instead of being
   * deleted at once for its old event time; and the stamp is when the record reached Kafka, which latency is
   * measured from. @default the broker's (CreateTime)
   */
  timestampType?: 'CreateTime' | 'LogAppendTime'
  key: string
  /** Avro value schema (subject `<topic>-value`); dead-letter topics carry the original bytes instead. */
  schema?: SchemaName
  description: string
}

const day = 86_400_000

export interface CatalogOptions {
  /** Prepended to every topic name, for isolated environments and tests. @default '' */
  prefix?: string
  /** Partitions of the per-customer topics. @default 6 */
  partitions?: number
}

/** Every topic the platform uses, in one place: nothing else spells a topic name. */
export class TopicCatalog {
  readonly customerEvents: TopicSpec
  readonly customerFeatures: TopicSpec
  readonly scores: TopicSpec
  readonly shadowScores: TopicSpec
  readonly driftReports: TopicSpec
  readonly driftState: TopicSpec
  readonly retrainRequests: TopicSpec
  readonly modelEvents: TopicSpec
  readonly modelArtifacts: TopicSpec
  readonly prefix: string

  constructor(options: CatalogOptions = {}) {
    const prefix = options.prefix ?? ''
    const partitions = options.partitions ?? 6
    this.prefix = prefix
    const name = (base: string): string => `${prefix}${base}`
    this.customerEvents = {
      name: name('customer.events'),
      partitions,
      cleanupPolicy: 'delete',
      retentionMs: 14 * day,
      timestampType: 'LogAppendTime',
      key: 'customer_id',
      schema: 'customerEvent',
      description: 'Everything customers do: signups, plan changes, usage, payments, tickets, cancellations.',
    }
    this.customerFeatures = {
      name: name('customer.features'),
      partitions,
      cleanupPolicy: 'compact',
      key: 'customer_id',
      schema: 'featureVector',
      description: "Changelog of each customer's feature vector (latest per customer kept).",
    }
    this.scores = {
      name: name('churn.scores'),
      partitions,
      cleanupPolicy: 'delete',
      retentionMs: 7 * day,
      key: 'customer_id',
      schema: 'churnScore',
      description: "Churn scores from the champion model, one per feature change.",
    }
    this.shadowScores = {
      name: name('churn.scores.shadow'),
      partitions,
      cleanupPolicy: 'delete',
      retentionMs: 3 * day,
      key: 'customer_id',
      schema: 'churnScore',
      description: 'The same inputs scored by the challenger model, for comparison on live traffic.',
    }
    this.driftReports = {
      name: name('churn.drift.reports'),
      partitions: 1,
      cleanupPolicy: 'delete',
      retentionMs: 30 * day,
      key: 'model_version',
      schema: 'driftReport',
      description: 'Per-window drift statistics against the training reference.',
    }
    this.driftState = {
      name: name('churn.drift.state'),
      partitions: 1,
      cleanupPolicy: 'compact',
      maxMessageBytes: 16 * 1024 * 1024,
      // A snapshot per transaction: roll segments often so compaction keeps about one per key.
      segmentMs: 3_600_000,
      key: 'drift consumer group id',
      description:
        "Internal state of the drift role, not a contract: its monitor's JSON snapshot (open windows, watermark, pending labels, retrain policy), " +
        'written in the same transaction as the offsets it was taken at. No Avro schema.',
    }
    this.retrainRequests = {
      name: name('churn.retrain.requests'),
      partitions: 1,
      cleanupPolicy: 'delete',
      retentionMs: 30 * day,
      key: 'model name',
      schema: 'retrainRequest',
      description: 'Requests to train a new model, with the evidence that raised them.',
    }
    this.modelEvents = {
      name: name('churn.model.events'),
      partitions: 1,
      cleanupPolicy: 'compact',
      key: 'model version',
      schema: 'modelEvent',
      description: 'Model registry transitions (registered, promoted, rejected, rolled back).',
    }
    this.modelArtifacts = {
      name: name('churn.model.artifacts'),
      partitions: 1,
      cleanupPolicy: 'compact',
      maxMessageBytes: 32 * 1024 * 1024,
      key: 'model version',
      schema: 'modelArtifact',
      description: 'ONNX bytes of each registered model, so scorers need no database.',
    }
  }

  /** Topics that consumers read and can therefore receive bad records. */
  get inputTopics(): TopicSpec[] {
    return [this.customerEvents, this.customerFeatures, this.scores, this.retrainRequests, this.modelEvents]
  }

  /** The dead-letter topic of an input topic: original bytes, error headers. */
  deadLetter(topic: TopicSpec): TopicSpec {
    return {
      name: `${topic.name}.dlq`,
      partitions: 1,
      cleanupPolicy: 'delete',
      retentionMs: 30 * day,
      key: topic.key,
      description: `Records of ${topic.name} that could not be processed, with the reason in headers.`,
    }
  }

  get topics(): TopicSpec[] {
    const primary = [
      this.customerEvents,
      this.customerFeatures,
      this.scores,
      this.shadowScores,
      this.driftReports,
      this.driftState,
      this.retrainRequests,
      this.modelEvents,
      this.modelArtifacts,
    ]
    return [...primary, ...this.inputTopics.map((topic) => this.deadLetter(topic))]
  }

  byName(name: string): TopicSpec | undefined {
    return this.topics.find((topic) => topic.name === name)
  }
}

/** The Kafka topic configuration a spec asks for. */
export function topicConfig(spec: TopicSpec): Record<string, string> {
  const config: Record<string, string> = { 'cleanup.policy': spec.cleanupPolicy }
  if (spec.retentionMs !== undefined) config['retention.ms'] = String(spec.retentionMs)
  if (spec.maxMessageBytes !== undefined) config['max.message.bytes'] = String(spec.maxMessageBytes)
  if (spec.segmentMs !== undefined) config['segment.ms'] = String(spec.segmentMs)
  if (spec.timestampType !== undefined) config['message.timestamp.type'] = spec.timestampType
  if (spec.cleanupPolicy === 'compact') config['min.compaction.lag.ms'] = '0'
  return config
}
