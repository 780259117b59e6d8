import type { Command } from 'commander'
import { config } from '../core/config.js'
import { smokeStack } from '../stack/smoke.js'
import { Stack } from '../stack/stack.js'
import { formatStatus } from './stack-commands.js'

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('bring the stack up and show a round trip through every service')
    .action(async () => {
      const settings = config()
      const stack = new Stack(settings, (line) => { console.log(line) })
      const report = await stack.up()
      console.log(`stack ready in ${(report.elapsedMs / 1000).toFixed(1)} s\n`)
      console.log(formatStatus(await stack.status()))
      console.log('')
      const results = await smokeStack(settings)
      for (const result of results) {
        console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.service.padEnd(16)} ${String(result.elapsedMs).padStart(5)} ms  ${result.detail}`)
      }
      if (results.some((result) => !result.ok)) process.exitCode = 1
      console.log('\nThe stack keeps running for exploration; stop it with `npx churn stack down`.')
    })
}
