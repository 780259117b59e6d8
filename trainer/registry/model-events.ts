import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Kafka, Producer } from 'kafkajs'
import { createIdempotentProducer } from '../../core/kafka.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicCatalog } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import type { TransitionListener } from './registry.js'

/**
 * Publishes registry transitions on `churn.model.events` (keyed by version) and each new model's ONNX
 * bytes on `churn.model.artifacts`, artifact first, so a scorer that sees an event can load the model
 * without reaching the offline store.
 */
export class ModelEventPublisher {
  readonly #producer: Producer
  readonly #events: AvroCodec
  readonly #artifacts: AvroCodec
  readonly #catalog: TopicCatalog
  #connected: Promise<void> | undefined

  constructor(kafka: Kafka, registry: SchemaRegistry, catalog: TopicCatalog) {
    this.#producer = createIdempotentProducer(kafka)
    this.#events = new AvroCodec(registry, loadSchema('modelEvent'), `${catalog.modelEvents.name}-value`)
    this.#artifacts = new AvroCodec(registry, loadSchema('modelArtifact'), `${catalog.modelArtifacts.name}-value`)
    this.#catalog = catalog
  }

  readonly listener: TransitionListener = async (record, version, artifact, state) => {
    this.#connected ??= this.#producer.connect()
    await this.#connected
    await Promise.all([this.#events.schemaId(), this.#artifacts.schemaId()])
    if (artifact !== undefined) {
      await this.#producer.send({
        topic: this.#catalog.modelArtifacts.name,
        acks: -1,
        messages: [{ key: version.version, value: this.#artifacts.encode({ version: version.version, format: 'onnx', sha256: version.artifactSha256, bytes: Buffer.from(artifact), created_at: version.createdAt }) }],
      })
    }
    await this.#producer.send({
      topic: this.#catalog.modelEvents.name,
      acks: -1,
      messages: [
        {
          key: version.version,
          value: this.#events.encode({
            event_id: record.eventId,
            model_name: record.modelName,
            version: record.version,
            transition: record.transition,
            aliases: record.alias === '' ? [] : [record.alias],
            actor: record.actor,
            reason: record.reason,
            at: record.at,
            feature_set_version: version.featureSetVersion,
            artifact_sha256: version.artifactSha256,
            metrics: version.metrics,
            model_type: version.modelType,
            state: {
              champion: state.champion ?? null,
              previous_champion: state.previousChampion ?? null,
              challenger: state.challenger ?? null,
              baseline: state.baseline ?? null,
            },
          }),
        },
      ],
    })
  }

  async close(): Promise<void> {
    if (this.#connected !== undefined) await this.#producer.disconnect()
  }
}
