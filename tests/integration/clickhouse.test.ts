import { afterAll, describe, expect, it } from 'vitest'
import { config } from '../../core/config.js'
import { createOfflineClient } from '../../core/clickhouse.js'
import { tempDir, uniqueName } from '../support/factories.js'

// A server when CLICKHOUSE_URL is set, otherwise the embedded engine in a folder of this test's own.
const client = createOfflineClient({ url: config().CLICKHOUSE_URL, path: tempDir('chdb') })
const database = uniqueName('t_offline').replaceAll('-', '_')

afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${database}` })
  await client.close()
})

describe('clickhouse', () => {
  it('creates tables, inserts, queries with parameters and joins as of a timestamp', async () => {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
    await client.command({
      query: `CREATE TABLE ${database}.prices (customer_id String, ts DateTime64(3, 'UTC'), monthly_charge Float64)
              ENGINE = ReplacingMergeTree ORDER BY (customer_id, ts)`,
    })
    await client.command({
      query: `CREATE TABLE ${database}.observations (customer_id String, as_of DateTime64(3, 'UTC'))
              ENGINE = MergeTree ORDER BY (customer_id, as_of)`,
    })
    await client.insert({
      table: `${database}.prices`,
      format: 'JSONEachRow',
      values: [
        { customer_id: 'a', ts: '2026-01-01 00:00:00.000', monthly_charge: 20 },
        { customer_id: 'a', ts: '2026-02-01 00:00:00.000', monthly_charge: 25 },
        { customer_id: 'b', ts: '2026-01-15 00:00:00.000', monthly_charge: 80 },
      ],
    })
    await client.insert({
      table: `${database}.observations`,
      format: 'JSONEachRow',
      values: [
        { customer_id: 'a', as_of: '2026-01-20 00:00:00.000' },
        { customer_id: 'a', as_of: '2026-03-01 00:00:00.000' },
        { customer_id: 'b', as_of: '2026-01-10 00:00:00.000' },
      ],
    })

    const expensive = await client.query({
      query: `SELECT customer_id FROM ${database}.prices WHERE monthly_charge > {min:Float64} ORDER BY customer_id`,
      query_params: { min: 50 },
      format: 'JSONEachRow',
    })
    expect(await expensive.json()).toEqual([{ customer_id: 'b' }])

    // The price known at each observation time, never a later one; b has none yet.
    const asOf = await client.query({
      query: `SELECT o.customer_id AS customer_id, toString(o.as_of) AS as_of, p.monthly_charge AS monthly_charge
              FROM ${database}.observations AS o
              ASOF LEFT JOIN ${database}.prices AS p ON o.customer_id = p.customer_id AND o.as_of >= p.ts
              ORDER BY customer_id, as_of`,
      format: 'JSONEachRow',
    })
    expect(await asOf.json()).toEqual([
      { customer_id: 'a', as_of: '2026-01-20 00:00:00.000', monthly_charge: 20 },
      { customer_id: 'a', as_of: '2026-03-01 00:00:00.000', monthly_charge: 25 },
      { customer_id: 'b', as_of: '2026-01-10 00:00:00.000', monthly_charge: 0 },
    ])
  })
})
