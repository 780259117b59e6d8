import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromAvroEvent, loadSchema, toAvroEvent, type AvroCustomerEvent } from '../../schemas/avro.js'
import { customerEventSchema, isCompleteValidEvent, type CustomerEvent } from '../../schemas/events.js'
import { customerEventArbitrary } from '../support/events.js'

const now = Date.UTC(2026, 5, 1)
const schema = customerEventSchema({ now })
const type = loadSchema('customerEvent').type

/** The event as a consumer sees it: written and read with the Avro schema. */
const throughAvro = (event: CustomerEvent): ReturnType<typeof fromAvroEvent> => fromAvroEvent(type.fromBuffer(type.toBuffer(toAvroEvent(event))) as AvroCustomerEvent)

/** Values that break the contract in each way zod checks, or that it accepts only by a rule the fast check leaves to it. */
const badValues: unknown[] = [
  -1, -0.5, 1e9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, '', 'x'.repeat(65), '😀'.repeat(40), 'not-an-enum',
  null, undefined, true, [], ['phone', 'phone'], ['phone', 'teleport'], {}, '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '123e4567-e89b-02d3-a456-426614174000', 'has space', Date.UTC(1999, 0, 1), now + 10 * 60_000, 8_700_000_000_000_000,
]

type Envelope = ReturnType<typeof fromAvroEvent>

/** Replaces one field of the envelope or payload (possibly nested) with `value`, or adds an unknown one. */
function mutate(event: Envelope, path: readonly string[], value: unknown): Envelope {
  const copy = structuredClone(event) as unknown as Record<string, unknown>
  let target = copy
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>
  target[path.at(-1) ?? 'extra'] = value
  return copy as unknown as Envelope
}

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix]
  return [[...prefix, 'extra'], ...Object.entries(value).flatMap(([key, inner]) => paths(inner, [...prefix, key]))]
}

describe('the hot-path check of decoded events', () => {
  it('accepts valid events read from Avro, as the schema would return them', () => {
    fc.assert(
      fc.property(customerEventArbitrary(now), (event) => {
        const decoded = throughAvro(event)
        expect(isCompleteValidEvent(decoded, { now })).toBe(true)
        expect(decoded).toEqual(schema.parse(decoded))
      }),
      { numRuns: 1_000 },
    )
  })

  it('never accepts an event the schema refuses', () => {
    const mutation = customerEventArbitrary(now).chain((event) => {
      const decoded = throughAvro(event)
      return fc.record({ decoded: fc.constant(decoded), path: fc.constantFrom(...paths(decoded)), value: fc.constantFrom(...badValues) })
    })
    let refused = 0
    fc.assert(
      fc.property(mutation, ({ decoded, path, value }) => {
        const candidate = mutate(decoded, path, value)
        const valid = schema.safeParse(candidate).success
        if (!valid) refused += 1
        if (isCompleteValidEvent(candidate, { now })) expect(valid).toBe(true)
      }),
      { numRuns: 3_000 },
    )
    // The mutations mostly break the contract, so the property was tested where it matters.
    expect(refused).toBeGreaterThan(1_500)
  })
})
