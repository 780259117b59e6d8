import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Kafka } from 'kafkajs'
import { createOfflineClient } from '../../core/clickhouse.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import type { TopicCatalog } from '../../schemas/catalog.js'
import { ModelEventPublisher, ModelRegistry, type RegisterRequest } from '../../trainer/registry/index.js'

export interface PublishChampionClients {
  readonly kafka: Kafka
  readonly registry: SchemaRegistry
  readonly catalog: TopicCatalog
}

/**
 * Registers an artifact and promotes it to champion in a model registry of its own (the embedded offline store in a
 * temporary folder) that publishes its transitions and artifacts on the catalog's model topics, as the trainer's
 * registry does: roles that follow the model log then see the champion. The registry is closed and its folder removed
 * before returning, since the model topics carry everything the roles read. Returns the champion's version.
 */
export async function publishChampion(clients: PublishChampionClients, request: Pick<RegisterRequest, 'artifact' | 'modelType' | 'featureSetVersion' | 'metrics'>): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), 'bench-registry-'))
  try {
    const client = createOfflineClient({ path: folder })
    try {
      await migrate(client)
      const publisher = new ModelEventPublisher(clients.kafka, clients.registry, clients.catalog)
      try {
        const models = new ModelRegistry(client, { onTransition: publisher.listener })
        const registered = await models.register({ ...request, params: {}, trainingWindow: { from: 0, to: 1 }, dataHash: 'bench', codeVersion: 'bench', actor: 'bench' })
        await models.promote(registered.version, 'bench', 'the champion of the benchmark')
        return registered.version
      } finally {
        await publisher.close()
      }
    } finally {
      await client.close()
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
