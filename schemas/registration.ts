import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { loadSchema } from './avro.js'
import type { TopicSpec } from './catalog.js'
import { AvroCodec, toRegistryError } from './codec.js'

export interface RegisteredSchema {
  subject: string
  id: number
}

/**
 * Registers every topic's value schema under `<topic>-value` and pins the subject to BACKWARD
 * compatibility. An incompatible change is refused by the registry; the error names the subject
 * and the incompatibility. Registering an unchanged schema is a no-op that returns its id.
 */
export async function registerSchemas(registry: SchemaRegistry, registryUrl: string, topics: TopicSpec[]): Promise<RegisteredSchema[]> {
  const registered: RegisteredSchema[] = []
  for (const topic of topics) {
    if (topic.schema === undefined) continue
    const codec = new AvroCodec(registry, loadSchema(topic.schema), `${topic.name}-value`)
    const id = await codec.schemaId()
    await setCompatibility(registryUrl, codec.subject, 'BACKWARD')
    registered.push({ subject: codec.subject, id })
  }
  return registered
}

async function setCompatibility(registryUrl: string, subject: string, level: 'BACKWARD'): Promise<void> {
  let response: Response
  try {
    response = await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: level }),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    throw toRegistryError(error, subject)
  }
  if (!response.ok) {
    throw toRegistryError(Object.assign(new Error(`setting ${level} compatibility: ${await response.text()}`), { status: response.status }), subject)
  }
}
