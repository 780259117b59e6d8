import { existsSync, readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { importSnapshots, loadMapping } from '../producers/import/index.js'
import { EventPublisher } from '../producers/publisher/index.js'
import { FileSink, PublisherSink, type EventSink } from '../producers/sinks.js'
import { commandContext } from './context.js'

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('turn a table of customer snapshots (CSV, one row per customer) into historical events')
    .requiredOption('--csv <file>', 'the table')
    .requiredOption('--mapping <file>', 'JSON mapping from its columns to the event contract (see producers/import/mappings/)')
    .option('--out <file>', 'write JSON lines here instead of publishing to Kafka')
    .action(async (options: { csv: string; mapping: string; out?: string }) => {
      if (!existsSync(options.csv)) throw new ChurnError(ErrorCodes.VALIDATION, `no such file: ${options.csv}`)
      const mapping = loadMapping(options.mapping)
      const result = importSnapshots(readFileSync(options.csv, 'utf8'), mapping)
      for (const row of result.rejected) console.error(`line ${row.line}: ${row.reason}`)
      let sink: EventSink
      if (options.out === undefined) {
        const context = commandContext('churn-import')
        sink = new PublisherSink(new EventPublisher({ kafka: context.kafka, registry: context.registry, topic: context.catalog.customerEvents, logger: context.logger }))
      } else {
        sink = new FileSink(options.out)
      }
      try {
        for (let i = 0; i < result.events.length; i += 5_000) await sink.write(result.events.slice(i, i + 5_000))
      } finally {
        await sink.close()
      }
      console.log(`imported ${result.customers} customers as ${result.events.length} events${options.out === undefined ? '' : ` into ${options.out}`}; ${result.rejected.length} row(s) rejected`)
      if (result.rejected.length > 0) process.exitCode = 1
    })
}
