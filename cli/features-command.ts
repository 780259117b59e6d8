import type { Command } from 'commander'
import { createOfflineClient } from '../core/clickhouse.js'
import { createRedis } from '../core/redis.js'
import { backfillOnlineStore } from '../feature-store/backfill.js'
import { churnFeatures } from '../feature-store/declarations.js'
import { FeatureSet } from '../feature-store/feature-set.js'
import { migrate } from '../feature-store/offline/migrations.js'
import { OnlineStore } from '../feature-store/online/online-store.js'
import { commandContext } from './context.js'

function describeWindow(aggregation: (typeof churnFeatures)[number]['aggregation']): string {
  return 'window' in aggregation ? (aggregation.window === 'lifetime' ? 'lifetime' : `${aggregation.window}d`) : ''
}

export function registerFeaturesCommands(program: Command): void {
  const features = program.command('features').description('the declared feature set and its stores')

  features
    .command('list')
    .description('every feature in vector order, and the feature-set version')
    .action(() => {
      const set = new FeatureSet(churnFeatures)
      console.log(`feature set ${set.version}: ${set.names.length} features, late events refused beyond ${set.allowedLatenessMs / 3_600_000} h`)
      churnFeatures.forEach((feature, i) => {
        console.log(`${String(i).padStart(2)} ${feature.name.padEnd(28)} ${feature.aggregation.kind.padEnd(17)} ${describeWindow(feature.aggregation).padEnd(9)} default ${String(feature.default).padEnd(4)} ${feature.description}`)
      })
    })

  features
    .command('backfill')
    .description('rebuild the Redis online store from the offline store (ClickHouse)')
    .option('--force', 'overwrite states even where Redis is already at or past the offline offsets')
    .action(async (options: { force?: boolean }) => {
      const { config, catalog } = commandContext('churn-features')
      const client = createOfflineClient({ url: config.CLICKHOUSE_URL, path: config.CLICKHOUSE_PATH })
      const redis = createRedis(config.REDIS_URL)
      try {
        await migrate(client)
        await redis.connect()
        const set = new FeatureSet(churnFeatures)
        const report = await backfillOnlineStore(client, set, new OnlineStore(redis, { keyPrefix: config.ONLINE_KEY_PREFIX }), {
          topic: catalog.customerEvents.name,
          force: options.force === true,
          onProgress: (progress) => { process.stderr.write(`${progress.customers} customers, ${progress.events} events\n`) },
        })
        console.log(`backfilled ${report.written} of ${report.customers} customers from ${report.events} events (${report.late} late events refused) into feature set ${set.version}`)
      } finally {
        redis.disconnect()
        await client.close()
      }
    })
}
