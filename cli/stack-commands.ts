import type { Command } from 'commander'
import { config } from '../core/config.js'
import { Stack } from '../stack/stack.js'
import type { ServiceStatus } from '../stack/service.js'
import { commandContext } from './context.js'
import { formatPipelineStatus, readPipelineStatus } from './pipeline-status.js'

export function formatStatus(rows: ServiceStatus[]): string {
  const header = ['SERVICE', 'ADDRESS', 'STATE', 'PID', 'LOG']
  const table = rows.map((row) => [row.name, row.address, row.detail === undefined ? row.state : `${row.state} (${row.detail})`, row.pid === undefined ? '-' : String(row.pid), row.log])
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]?.length ?? 0)))
  return [header, ...table].map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n')
}

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local stack: Kafka, schema registry, Redis, Prometheus (ClickHouse is embedded)')

  stack
    .command('up')
    .description('provision and start every service that is not running; waits until each is ready')
    .action(async () => {
      const local = new Stack(config(), (line) => { console.log(line) })
      const report = await local.up()
      console.log(`stack ${report.mode}: ready in ${(report.elapsedMs / 1000).toFixed(1)} s`)
      console.log(formatStatus(await local.status()))
    })

  stack
    .command('down')
    .description('stop the services `stack up` started (data is kept)')
    .action(async () => {
      const local = new Stack(config())
      for (const { name, outcome } of await local.down()) console.log(`${name}: ${outcome}`)
    })

  stack
    .command('status')
    .description('each service, its address and health; the lag of each consumer group and the champion')
    .action(async () => {
      const rows = await new Stack(config()).status()
      console.log(formatStatus(rows))
      if (rows.some((row) => row.state !== 'healthy' && row.state !== 'external')) process.exitCode = 3
      const kafka = rows.find((row) => row.name === 'kafka')
      if (kafka !== undefined && kafka.state !== 'healthy' && kafka.state !== 'external') {
        console.log(`consumer lag and champion: unavailable (kafka is ${kafka.state})`)
        return
      }
      console.log('')
      console.log(formatPipelineStatus(await readPipelineStatus(commandContext('churn-stack-status'))))
    })
}
