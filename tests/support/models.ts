import type { Kafka } from 'kafkajs'
import { afterAll } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import type { RoleContext } from '../../consumers/runtime/context.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { ModelEventPublisher, ModelRegistry } from '../../trainer/registry/index.js'
import { tempDir } from './factories.js'
import { trainGbdt, type GbdtModel } from '../../trainer/gbdt/index.js'
import { trainLogistic } from '../../trainer/logistic/index.js'
import { gbdtToOnnx, logisticToOnnx, referenceDistributions } from '../../trainer/onnx/index.js'

export interface TrainedArtifacts {
  gbdt: Uint8Array
  logistic: Uint8Array
  model: GbdtModel
  /** Row-major sample rows of the training distribution (NaN included). */
  sample: Float64Array
}

/** A deterministic pseudo-random stream in [0, 1). */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

/**
 * Small real models over `featureNames`: a GBDT and a logistic baseline on synthetic rows where
 * churn rises with the first feature and falls with the second; about 5% of values are missing.
 * Values are multiples of 0.1 in [0, 10] (as float32), and each artifact carries their reference distributions.
 */
export function trainedArtifacts(featureNames: readonly string[], featureSetVersion: string, options: { seed?: number; rows?: number; trees?: number } = {}): TrainedArtifacts {
  const next = random(options.seed ?? 7)
  const rows = options.rows ?? 1_500
  const cols = featureNames.length
  const values = new Float32Array(rows * cols)
  const labels = new Uint8Array(rows)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) values[r * cols + c] = next() < 0.05 ? Number.NaN : Math.round(next() * 100) / 10
    const a = values[r * cols] ?? 0
    const b = values[r * cols + 1] ?? 0
    const margin = 0.6 * (Number.isNaN(a) ? 5 : a) - 0.4 * (Number.isNaN(b) ? 5 : b) - 1
    labels[r] = next() < 1 / (1 + Math.exp(-margin)) ? 1 : 0
  }
  const data = { x: { rows, cols, values }, y: labels }
  const { model } = trainGbdt(data, { numTrees: options.trees ?? 30, numLeaves: 7, learningRate: 0.1, seed: options.seed ?? 7 })
  const logistic = trainLogistic(data).model
  // The training distributions go into the metadata as the trainer puts them there: the drift role's reference.
  const metadata = { featureNames, featureSetVersion, metrics: { positive_rate: labels.reduce((sum, y) => sum + y, 0) / rows }, referenceDistributions: referenceDistributions(data.x, featureNames) }
  return { gbdt: gbdtToOnnx(model, metadata), logistic: logisticToOnnx(logistic, metadata), model, sample: Float64Array.from(values.subarray(0, 20 * cols)) }
}

/**
 * A model registry in its own embedded offline store that publishes its transitions and artifacts on the
 * catalog's model topics, as the trainer's does; closed when the test file is done.
 */
export async function publishingModelRegistry(kafka: Kafka, context: RoleContext, name: string): Promise<ModelRegistry> {
  const client = createOfflineClient({ path: tempDir(`chdb-${name}`) })
  await migrate(client)
  const publisher = new ModelEventPublisher(kafka, context.registry, context.catalog)
  afterAll(async () => {
    await publisher.close()
    await client.close()
  })
  return new ModelRegistry(client, { onTransition: publisher.listener })
}
