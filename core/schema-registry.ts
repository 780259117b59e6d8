import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'

/** A client for the Confluent-compatible schema registry (Confluent wire format, schema ids cached). */
export function createSchemaRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url, clientId: 'churn' })
}

export { SchemaRegistry }
