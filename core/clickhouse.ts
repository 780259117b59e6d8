import { mkdirSync } from 'node:fs'
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'

export interface OfflineStoreSettings {
  /** A ClickHouse server; when absent the embedded engine is used. */
  url?: string | undefined
  /** Data folder of the embedded engine. */
  path: string
  database?: string
}

/**
 * The offline store client. The same `@clickhouse/client` API and SQL run against a ClickHouse
 * server (`CLICKHOUSE_URL`) or the embedded engine at a local path. The embedded engine can be
 * opened by one process at a time.
 */
export function createOfflineClient(settings: OfflineStoreSettings): ClickHouseClient {
  if (settings.url !== undefined) {
    return createClient({ url: settings.url, ...(settings.database === undefined ? {} : { database: settings.database }) })
  }
  mkdirSync(settings.path, { recursive: true })
  // chdb implements the client's Connection contract; its declarations come from a separate copy of
  // the client's common types, which TypeScript treats as distinct, hence the cast at this one seam.
  const connection = createChdbConnection({ path: settings.path }) as unknown as NonNullable<ClickHouseClientConfigOptions['connection']>
  return createClient({ connection })
}

export type { ClickHouseClient }
