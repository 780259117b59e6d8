import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'

/** Runs the README's main command, shortened, as a user would: the compiled CLI, in a child process. */
function runDemo(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'churn.js'), 'demo', ...args], { env: { ...process.env, METRICS_PORT: '0', GATEWAY_PORT: '0' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('churn demo', () => {
  it('runs every role on a simulated business, shows the loop as it goes, and ends by itself with a summary', async () => {
    const { code, stdout, stderr } = await runDemo(['--duration', '30', '--customers', '1000', '--history', '150', '--speed', '1', '--plain'], 240_000)
    expect(stderr).toBe('')
    expect(code).toBe(0)
    // A status line every few seconds, through the history and the live part.
    expect(stdout).toMatch(/\] history sim \d{4}-\d{2}-\d{2} +events\/s/u)
    expect(stdout).toMatch(/\] live sim \d{4}-\d{2}-\d{2} +events\/s/u)
    const number = (label: string): number => Number((new RegExp(`${label} +([\\d,]+)`, 'u').exec(stdout)?.[1] ?? 'NaN').replaceAll(',', ''))
    expect(number('events published')).toBeGreaterThan(10_000)
    expect(number('scores emitted')).toBeGreaterThan(1_000)
    // The first model is trained from the history and promoted; it then serves.
    expect(stdout).toMatch(/models promoted\/rejected +[1-9]\d*\/\d+; champion now v\d+/u)
    expect(number('retrain requests')).toBeGreaterThanOrEqual(1)
    expect(stdout).toMatch(/drift windows +\d+ closed, \d+ breached/u)
    expect(stdout).toMatch(/Stop it with `npx churn stack down`/u)
  }, 300_000)
})
