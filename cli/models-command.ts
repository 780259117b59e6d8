import { userInfo } from 'node:os'
import type { Command } from 'commander'
import { createOfflineClient } from '../core/clickhouse.js'
import { migrate } from '../feature-store/offline/migrations.js'
import { ModelEventPublisher, ModelRegistry, type ModelVersion } from '../trainer/registry/index.js'
import { commandContext } from './context.js'

async function withRegistry<T>(run: (registry: ModelRegistry) => Promise<T>): Promise<T> {
  const { config, kafka, registry: schemaRegistry, catalog } = commandContext('churn-models')
  const client = createOfflineClient({ url: config.CLICKHOUSE_URL, path: config.CLICKHOUSE_PATH })
  const events = new ModelEventPublisher(kafka, schemaRegistry, catalog)
  try {
    await migrate(client)
    return await run(new ModelRegistry(client, { onTransition: events.listener }))
  } finally {
    await events.close()
    await client.close()
  }
}

const actor = (): string => `cli:${userInfo().username}`
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

function summary(model: ModelVersion, aliases: string[]): string {
  const auc = model.metrics['roc_auc']
  return `${model.version.padEnd(6)} ${model.modelType.padEnd(9)} ${new Date(model.createdAt).toISOString().slice(0, 19)}  ROC-AUC ${auc === undefined ? '-     ' : auc.toFixed(4)}  ${model.featureSetVersion}  ${aliases.join(',')}`
}

export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('the model registry: versions, aliases, transitions')

  models
    .command('list')
    .description('every version, with its champion/challenger alias')
    .action(() =>
      withRegistry(async (registry) => {
        const aliases = await registry.aliases()
        for (const model of await registry.list()) {
          console.log(summary(model, Object.entries(aliases).filter(([name, version]) => version === model.version && name !== 'previousChampion').map(([name]) => name)))
        }
      }),
    )

  models
    .command('show <version>')
    .description('a version: metrics, parameters, lineage and its transitions')
    .action((version: string) =>
      withRegistry(async (registry) => {
        const model = await registry.get(version)
        console.log(JSON.stringify({ ...model, trainingWindow: { from: day(model.trainingWindow.from), to: day(model.trainingWindow.to) } }, null, 2))
        for (const record of (await registry.history()).filter((entry) => entry.version === version)) {
          console.log(`${new Date(record.at).toISOString()}  ${record.transition.padEnd(18)} ${record.actor}: ${record.reason}`)
        }
      }),
    )

  models
    .command('compare <a> <b>')
    .description('two versions side by side')
    .action((a: string, b: string) =>
      withRegistry(async (registry) => {
        const [left, right] = [await registry.get(a), await registry.get(b)]
        const keys = [...new Set([...Object.keys(left.metrics), ...Object.keys(right.metrics)])].sort()
        console.log(`${'metric'.padEnd(20)} ${a.padStart(10)} ${b.padStart(10)}`)
        for (const key of keys) console.log(`${key.padEnd(20)} ${(left.metrics[key]?.toFixed(4) ?? '-').padStart(10)} ${(right.metrics[key]?.toFixed(4) ?? '-').padStart(10)}`)
        console.log(`${'feature set'.padEnd(20)} ${left.featureSetVersion.padStart(10)} ${right.featureSetVersion.padStart(10)}`)
        console.log(`${'trained on'.padEnd(20)} ${day(left.trainingWindow.from)}..${day(left.trainingWindow.to)} ${day(right.trainingWindow.from)}..${day(right.trainingWindow.to)}`)
      }),
    )

  models
    .command('promote <version>')
    .description('make a version the champion (audited; scorers hot-swap to it)')
    .option('--reason <text>', 'why, for the audit trail', 'promoted by hand')
    .action((version: string, options: { reason: string }) =>
      withRegistry(async (registry) => {
        await registry.promote(version, actor(), options.reason)
        console.log(`${version} is the champion`)
      }),
    )

  models
    .command('rollback')
    .description('point the champion back at the previous one (audited)')
    .option('--reason <text>', 'why, for the audit trail', 'rolled back by hand')
    .action((options: { reason: string }) =>
      withRegistry(async (registry) => {
        console.log(`${await registry.rollback(actor(), options.reason)} is the champion again`)
      }),
    )
}
