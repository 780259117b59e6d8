import { SchemaType } from '@kafkajs/confluent-schema-registry'
import { describe, expect, it } from 'vitest'
import { config } from '../../core/config.js'
import { createSchemaRegistry } from '../../core/schema-registry.js'
import { uniqueName } from '../support/factories.js'

const registry = createSchemaRegistry(config().SCHEMA_REGISTRY_URL)

const v1 = {
  type: 'record' as const,
  name: 'Customer',
  namespace: 'churn.test',
  fields: [
    { name: 'customer_id', type: 'string' },
    { name: 'monthly_charge', type: 'double' },
  ],
}

async function setCompatibility(subject: string, level: string): Promise<void> {
  const response = await fetch(`${config().SCHEMA_REGISTRY_URL}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  })
  expect(response.status).toBe(200)
}

describe('schema registry', () => {
  it('registers a schema and round-trips a record in the Confluent wire format', async () => {
    const subject = `${uniqueName('t.registry')}-value`
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject })
    const encoded = await registry.encode(id, { customer_id: 'c-1', monthly_charge: 42.5 })
    expect(encoded[0]).toBe(0)
    expect(encoded.readInt32BE(1)).toBe(id)
    const decoded: unknown = await registry.decode(encoded)
    expect(decoded).toEqual({ customer_id: 'c-1', monthly_charge: 42.5 })
    expect(await registry.getLatestSchemaId(subject)).toBe(id)
    // Registering the same schema again is idempotent.
    expect((await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject })).id).toBe(id)
  })

  it('accepts a backward-compatible change and rejects an incompatible one under BACKWARD', async () => {
    const subject = `${uniqueName('t.compat')}-value`
    const { id: v1Id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject })
    await setCompatibility(subject, 'BACKWARD')

    const withDefault = { ...v1, fields: [...v1.fields, { name: 'plan', type: 'string', default: 'basic' }] }
    const { id: v2 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(withDefault) }, { subject })
    // A reader on v2 still reads v1 records (the default fills the new field); v2 records carry it.
    const older: unknown = await registry.decode(await registry.encode(v1Id, { customer_id: 'c-1', monthly_charge: 5 }), {
      [SchemaType.AVRO]: { readerSchema: withDefault },
    })
    expect(older).toEqual({ customer_id: 'c-1', monthly_charge: 5, plan: 'basic' })
    const newer: unknown = await registry.decode(await registry.encode(v2, { customer_id: 'c-2', monthly_charge: 10, plan: 'pro' }))
    expect(newer).toEqual({ customer_id: 'c-2', monthly_charge: 10, plan: 'pro' })

    const requiredField = { ...v1, fields: [...v1.fields, { name: 'region', type: 'string' }] }
    await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(requiredField) }, { subject })).rejects.toThrow(/incompatible|compatib/iu)

    const typeChange = { ...v1, fields: [{ name: 'customer_id', type: 'long' }, v1.fields[1]] }
    await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(typeChange) }, { subject })).rejects.toThrow(/incompatible|compatib/iu)
    expect(await registry.getLatestSchemaId(subject)).toBe(v2)
  })
})
