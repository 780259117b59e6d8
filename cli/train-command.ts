import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import type { Command } from 'commander'
import { z } from 'zod'
import { createOfflineClient } from '../core/clickhouse.js'
import { config } from '../core/config.js'
import { migrate } from '../feature-store/offline/migrations.js'
import { parseOptions } from '../trainer/dataset/index.js'
import { trainGbdt } from '../trainer/gbdt/index.js'
import { prepareRegistration, snakeCaseMetrics } from '../trainer/pipeline/index.js'
import { ModelEventPublisher, ModelRegistry } from '../trainer/registry/index.js'
import { commandContext } from './context.js'
import {
  crossValidate,
  resolveCrossValidationOptions,
  encodeTable,
  readCsvFile,
  type CrossValidationReport,
  type EncodedTable,
  type FoldMetrics,
  type SummaryMetric,
} from '../trainer/tabular/index.js'

const trainOptionsSchema = z.strictObject({
  csv: z.string().min(1),
  label: z.string().min(1),
  id: z.string().min(1).optional(),
  folds: z.coerce.number().int().min(2).max(100).default(5),
  seed: z.coerce.number().int().default(0),
  json: z.boolean().default(false),
  register: z.boolean().default(false),
})

type TrainOptions = z.output<typeof trainOptionsSchema>

const COLUMNS: readonly { readonly metric: SummaryMetric; readonly title: string; readonly digits: number }[] = [
  { metric: 'rocAuc', title: 'ROC-AUC', digits: 4 },
  { metric: 'prAuc', title: 'PR-AUC', digits: 4 },
  { metric: 'logLoss', title: 'LOG LOSS', digits: 4 },
  { metric: 'brier', title: 'BRIER', digits: 4 },
  { metric: 'ece', title: 'ECE', digits: 4 },
  { metric: 'liftTopDecile', title: 'LIFT@10%', digits: 2 },
  { metric: 'maxF1', title: 'MAX F1', digits: 4 },
  { metric: 'fitSeconds', title: 'FIT S', digits: 2 },
]

/** A table of mean ± sd per model and metric. */
export function formatCrossValidation(report: CrossValidationReport): string {
  const header = ['MODEL', ...COLUMNS.map((column) => column.title)]
  const rows = report.models.map((model) => [
    model.model,
    ...COLUMNS.map(({ metric, digits }) => `${model.summary[metric].mean.toFixed(digits)} ± ${model.summary[metric].sd.toFixed(digits)}`),
  ])
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((cells) => cells[column]?.length ?? 0)))
  return [header, ...rows].map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')
}

function describe(file: string, table: EncodedTable, report: CrossValidationReport): string {
  const categorical = table.encodings.filter((encoding) => encoding.kind === 'categorical').length
  return `${basename(file)}: ${report.rows} rows, ${report.features} features (${categorical} categorical, ordinal-encoded), ` +
    `positive rate ${(100 * report.positiveRate).toFixed(1)} %, ${report.folds}-fold stratified cross-validation, seed ${report.seed}`
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train the GBDT and the logistic baseline on a CSV and report stratified k-fold cross-validation metrics')
    .requiredOption('--csv <file>', 'CSV file with a header row')
    .requiredOption('--label <column>', 'label column (yes/no, true/false or 1/0)')
    .option('--id <column>', 'id column, left out of the features')
    .option('--folds <k>', 'number of folds', '5')
    .option('--seed <n>', 'seed of the folds and the models', '0')
    .option('--json', 'print the report as JSON', false)
    .option('--register', 'fit the GBDT on every row and register it in the model registry (not promoted)', false)
    .action(async (raw: Record<string, unknown>) => {
      const options: TrainOptions = parseOptions(trainOptionsSchema, raw, 'train command')
      const table = encodeTable(await readCsvFile(options.csv), {
        label: options.label,
        ...(options.id === undefined ? {} : { id: options.id }),
      })
      const progress = (model: string, metrics: FoldMetrics): void => {
        process.stderr.write(`fold ${metrics.fold + 1}/${options.folds} ${model.padEnd(8)} ROC-AUC ${metrics.rocAuc.toFixed(4)} (${metrics.fitSeconds.toFixed(2)} s)\n`)
      }
      const report = crossValidate({ x: table.x, y: table.y }, { folds: options.folds, seed: options.seed }, options.json ? {} : { onFold: progress })
      if (options.json) {
        const { rows, features, positiveRate, folds, seed, models } = report
        console.log(JSON.stringify({ file: options.csv, label: options.label, encodings: table.encodings, rows, features, positiveRate, folds, seed, models }, null, 2))
      } else {
        console.log(describe(options.csv, table, report))
        console.log('')
        console.log(formatCrossValidation(report))
      }
      if (options.register) await registerModel(options, table, report)
    })
}

/** Fits the GBDT on every row, exports it with its lineage, and registers it; promotion stays a separate decision. */
async function registerModel(options: TrainOptions, table: EncodedTable, report: CrossValidationReport): Promise<void> {
  const resolved = resolveCrossValidationOptions({ folds: options.folds, seed: options.seed })
  const dataset = { x: table.x, y: table.y }
  const { model } = trainGbdt(dataset, resolved.gbdt)
  const gbdt = report.models.find((entry) => entry.model === 'gbdt')
  const metrics = snakeCaseMetrics(Object.fromEntries(Object.entries(gbdt?.summary ?? {}).map(([name, value]) => [name, value.mean])))
  // A table's feature set is its encoded columns, in order.
  const featureSetVersion = `csv-${createHash('sha256').update(table.featureNames.join('\n')).digest('hex').slice(0, 12)}`
  const now = Date.now()
  // A CSV has no event time: the window is when it was trained.
  const registration = prepareRegistration({ modelType: 'gbdt', model }, {
    featureNames: table.featureNames,
    featureSetVersion,
    training: dataset,
    params: { ...resolved.gbdt },
    metrics,
    trainingWindow: { from: now, to: now },
  })
  const settings = config()
  const context = commandContext('churn-train')
  const client = createOfflineClient({ url: settings.CLICKHOUSE_URL, path: settings.CLICKHOUSE_PATH })
  const events = new ModelEventPublisher(context.kafka, context.registry, context.catalog)
  try {
    await migrate(client)
    const version = await new ModelRegistry(client, { onTransition: events.listener }).register({
      ...registration,
      actor: 'cli:train',
      reason: `trained on ${basename(options.csv)}, ${options.folds}-fold ROC-AUC ${(gbdt?.summary.rocAuc.mean ?? Number.NaN).toFixed(4)}`,
    })
    console.log(`registered ${version.version} (${featureSetVersion}, ${registration.artifact.length} bytes of ONNX); promote it with \`churn models promote ${version.version}\``)
  } finally {
    await events.close()
    await client.close()
  }
}
