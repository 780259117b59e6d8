import type { ClickHouseClient } from '@clickhouse/client'

export interface Migration {
  version: number
  description: string
  statements: string[]
}

/**
 * The offline store's schema, in order. Applied migrations are recorded in `schema_migrations`;
 * every statement is idempotent as well, so a run interrupted half-way can simply run again.
 * Never edit an applied migration: add the next one.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'raw customer events and feature snapshots',
    statements: [
      // One row per consumed record. A customer always maps to one partition, so the sort key is unique per
      // record and a replayed record (same topic, partition, offset) collapses into the row it duplicates.
      `CREATE TABLE IF NOT EXISTS customer_events (
        event_id UUID,
        customer_id String,
        event_time DateTime64(3, 'UTC'),
        type LowCardinality(String),
        plan LowCardinality(String) DEFAULT '',
        contract LowCardinality(String) DEFAULT '',
        payment_method LowCardinality(String) DEFAULT '',
        monthly_charge Float64 DEFAULT 0,
        services Array(LowCardinality(String)) DEFAULT [],
        paperless_billing UInt8 DEFAULT 0,
        senior UInt8 DEFAULT 0,
        partner UInt8 DEFAULT 0,
        dependents UInt8 DEFAULT 0,
        region String DEFAULT '',
        channel LowCardinality(String) DEFAULT '',
        sessions UInt32 DEFAULT 0,
        minutes Float64 DEFAULT 0,
        data_mb Float64 DEFAULT 0,
        amount Float64 DEFAULT 0,
        status LowCardinality(String) DEFAULT '',
        method LowCardinality(String) DEFAULT '',
        ticket_id String DEFAULT '',
        category LowCardinality(String) DEFAULT '',
        severity LowCardinality(String) DEFAULT '',
        resolved UInt8 DEFAULT 0,
        reason LowCardinality(String) DEFAULT '',
        voluntary UInt8 DEFAULT 0,
        src_topic LowCardinality(String),
        src_partition UInt32,
        src_offset UInt64,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree
      ORDER BY (customer_id, src_topic, src_partition, src_offset)`,
      `CREATE TABLE IF NOT EXISTS feature_snapshots (
        customer_id String,
        feature_set_version LowCardinality(String),
        as_of DateTime64(3, 'UTC'),
        values Array(Float64),
        computed_at DateTime64(3, 'UTC'),
        src_topic LowCardinality(String),
        src_partition UInt32,
        src_offset UInt64
      ) ENGINE = ReplacingMergeTree
      ORDER BY (customer_id, src_topic, src_partition, src_offset)`,
    ],
  },
  {
    version: 2,
    description: 'model registry: versions with artifacts and lineage, append-only transitions',
    statements: [
      `CREATE TABLE IF NOT EXISTS model_versions (
        model_name LowCardinality(String),
        version String,
        created_at DateTime64(3, 'UTC'),
        model_type LowCardinality(String),
        feature_set_version String,
        artifact_base64 String,
        artifact_sha256 String,
        metrics String,
        params String,
        training_from DateTime64(3, 'UTC'),
        training_to DateTime64(3, 'UTC'),
        data_hash String,
        code_version String
      ) ENGINE = ReplacingMergeTree
      ORDER BY (model_name, version)`,
      // Aliases are not stored: they are derived from this log, which is only ever appended to.
      `CREATE TABLE IF NOT EXISTS model_transitions (
        event_id UUID,
        model_name LowCardinality(String),
        version String,
        transition LowCardinality(String),
        alias LowCardinality(String),
        previous_version String,
        actor String,
        reason String,
        at DateTime64(3, 'UTC')
      ) ENGINE = MergeTree
      ORDER BY (model_name, at, event_id)`,
    ],
  },
]

/** Applies the migrations not yet recorded; returns the versions it applied. */
export async function migrate(client: ClickHouseClient, all: readonly Migration[] = migrations): Promise<number[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, description String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = ReplacingMergeTree ORDER BY version`,
  })
  const rows = await (await client.query({ query: 'SELECT version FROM schema_migrations FINAL', format: 'JSONEachRow' })).json<{ version: number }>()
  const applied = new Set(rows.map((row) => row.version))
  const done: number[] = []
  for (const migration of [...all].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue
    for (const statement of migration.statements) await client.command({ query: statement })
    await client.insert({ table: 'schema_migrations', values: [{ version: migration.version, description: migration.description }], format: 'JSONEachRow' })
    done.push(migration.version)
  }
  return done
}
