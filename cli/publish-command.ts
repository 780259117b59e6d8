import { createReadStream, existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import { EventPublisher, PublishValidationError } from '../producers/publisher/index.js'
import type { CustomerEvent } from '../schemas/events.js'
import { commandContext } from './context.js'

export interface PublishSummary {
  lines: number
  published: number
  invalid: number
}

const chunk = 1_000

export function registerPublishCommand(program: Command): void {
  program
    .command('publish')
    .description('publish customer events from JSON lines (a file, or standard input)')
    .option('-f, --file <path>', 'read this file instead of standard input')
    .action(async (options: { file?: string }) => {
      if (options.file !== undefined && !existsSync(options.file)) throw new ChurnError(ErrorCodes.VALIDATION, `no such file: ${options.file}`)
      const context = commandContext('churn-publish')
      const publisher = new EventPublisher({ kafka: context.kafka, registry: context.registry, topic: context.catalog.customerEvents, logger: context.logger })
      const input = options.file === undefined ? process.stdin : createReadStream(options.file, 'utf8')
      const summary: PublishSummary = { lines: 0, published: 0, invalid: 0 }
      let valid: CustomerEvent[] = []
      const flush = async (): Promise<void> => {
        if (valid.length === 0) return
        const events = valid
        valid = []
        await publisher.publishBatch(events)
        summary.published += events.length
      }
      try {
        for await (const line of createInterface({ input, crlfDelay: Infinity })) {
          summary.lines += 1
          if (line.trim() === '') continue
          let parsed: unknown
          try {
            parsed = JSON.parse(line)
          } catch (error) {
            summary.invalid += 1
            console.error(`line ${summary.lines}: invalid JSON: ${errorMessage(error)}`)
            continue
          }
          try {
            valid.push(publisher.validate(parsed))
          } catch (error) {
            summary.invalid += 1
            const reason = error instanceof PublishValidationError ? error.problems.join('; ') : errorMessage(error)
            console.error(`line ${summary.lines}: ${reason}`)
            continue
          }
          if (valid.length >= chunk) await flush()
        }
        await flush()
      } finally {
        await publisher.close()
      }
      console.log(`published ${summary.published} events; ${summary.invalid} invalid line(s) of ${summary.lines}`)
      if (summary.invalid > 0) process.exitCode = 1
    })
}
