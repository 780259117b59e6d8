import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { describe, expect, it } from 'vitest'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'

/** Enough of a registry for encoding: every schema gets id 7. */
const registry = { register: () => Promise.resolve({ id: 7 }) } as unknown as SchemaRegistry
const wire = (type: { toBuffer: (value: unknown) => Buffer }, value: unknown): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), type.toBuffer(value)])

describe('Avro codec', () => {
  it('encodes small and large records in the Confluent wire format, as avsc writes them', async () => {
    const vectors = new AvroCodec(registry, loadSchema('featureVector'), 'features-value')
    const artifacts = new AvroCodec(registry, loadSchema('modelArtifact'), 'artifacts-value')
    await vectors.schemaId()
    await artifacts.schemaId()
    const vector = { customer_id: 'c-1', feature_set_version: 'fs-1', values: [1.5, Number.NaN, -0, 1e300], newest_event_time: 1, computed_at: 2, source_partition: 3, source_offset: 4 }
    const artifact = { version: '7', format: 'onnx', sha256: 'ab', bytes: Buffer.alloc(300_000, 9), created_at: 5 }
    expect(vectors.encode(vector)).toEqual(wire(vectors.type, vector))
    // Larger than the codec's scratch buffer, and a small one after it still comes out right.
    expect(artifacts.encode(artifact)).toEqual(wire(artifacts.type, artifact))
    expect(vectors.encode({ ...vector, customer_id: 'c-2' })).toEqual(wire(vectors.type, { ...vector, customer_id: 'c-2' }))
  })
})
