import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'

// Runs the compiled CLI, so module-loading problems that only show under Node's own ESM loader
// (named imports from CommonJS packages, say) fail here rather than in a user's terminal.
describe('churn CLI', () => {
  it('loads every command and prints help', () => {
    const result = spawnSync(process.execPath, [join(projectRoot, 'bin', 'churn.js'), '--help'], { encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    for (const command of ['stack', 'topics', 'schemas', 'publish', 'import', 'simulate', 'run', 'features', 'models', 'train', 'demo', 'score', 'watch']) expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'mu'))
  })

  it('names a bad environment variable and exits non-zero', () => {
    const result = spawnSync(process.execPath, [join(projectRoot, 'bin', 'churn.js'), 'topics', 'list'], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: 'nope' } })
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/KAFKA_BROKERS: expected host:port \(got "nope"\)/u)
  })
})
