import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import avro from 'avsc'
import { projectRoot } from '../core/config.js'
import type { CustomerEvent, EventType } from './events.js'

export const schemaFiles = {
  customerEvent: 'customer-event.avsc',
  featureVector: 'feature-vector.avsc',
  churnScore: 'churn-score.avsc',
  driftReport: 'drift-report.avsc',
  retrainRequest: 'retrain-request.avsc',
  modelEvent: 'model-event.avsc',
  modelArtifact: 'model-artifact.avsc',
} as const

export type SchemaName = keyof typeof schemaFiles

export interface LoadedSchema {
  name: SchemaName
  /** The schema as registered (the file's text, parsed and re-serialised). */
  text: string
  json: Record<string, unknown>
  type: avro.Type
}

const cache = new Map<SchemaName, LoadedSchema>()

/** An Avro schema from `schemas/avro/`, parsed once. */
export function loadSchema(name: SchemaName): LoadedSchema {
  let loaded = cache.get(name)
  if (loaded === undefined) {
    const json = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'avro', schemaFiles[name]), 'utf8')) as Record<string, unknown>
    // Decoded records must be plain data: validation rejects keys it does not know, methods included.
    loaded = { name, json, text: JSON.stringify(json), type: avro.Type.forSchema(json as avro.Schema, { omitRecordMethods: true }) }
    cache.set(name, loaded)
  }
  return loaded
}

/** The Avro record name of each payload branch of `CustomerEvent.payload`. */
export const payloadRecordNames: Record<EventType, string> = {
  signup: 'churn.events.Signup',
  plan_change: 'churn.events.PlanChange',
  usage: 'churn.events.Usage',
  payment: 'churn.events.Payment',
  support_ticket: 'churn.events.SupportTicket',
  cancellation: 'churn.events.Cancellation',
}

const typeByRecordName = new Map(Object.entries(payloadRecordNames).map(([type, name]) => [name, type as EventType]))

export interface AvroCustomerEvent {
  event_id: string
  customer_id: string
  event_time: number
  /** A union of records is written as `{ <record name>: value }`. */
  payload: Record<string, unknown>
}

export function toAvroEvent(event: CustomerEvent): AvroCustomerEvent {
  return {
    event_id: event.event_id,
    customer_id: event.customer_id,
    event_time: event.event_time,
    payload: { [payloadRecordNames[event.type]]: event.payload },
  }
}

/**
 * The envelope of a decoded Avro record, with the payload's type read from its union branch.
 * The payload is still to be validated (semantically) by the caller.
 */
export function fromAvroEvent(record: AvroCustomerEvent): { event_id: string; customer_id: string; event_time: number; type: EventType | undefined; payload: unknown } {
  const [branch] = Object.keys(record.payload)
  const type = branch === undefined ? undefined : typeByRecordName.get(branch)
  return {
    event_id: record.event_id,
    customer_id: record.customer_id,
    event_time: record.event_time,
    type,
    payload: branch === undefined ? undefined : record.payload[branch],
  }
}
