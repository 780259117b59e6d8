import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { projectRoot } from '../core/config.js'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import type { ServiceStatus } from './service.js'

/** True when a Docker engine answers (not just the client being installed). */
export function dockerEngineAnswers(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5_000 })
  return result.status === 0
}

const composeFile = join(projectRoot, 'docker-compose.yml')

function compose(args: string[]): string {
  const result = spawnSync('docker', ['compose', '-f', composeFile, ...args], { encoding: 'utf8', cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  if (result.status !== 0) {
    throw new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `docker compose ${args.join(' ')} failed:\n${result.stderr.trim()}`)
  }
  return result.stdout
}

export function composeUp(): void {
  compose(['up', '--detach', '--wait'])
}

export function composeDown(): void {
  compose(['down'])
}

export function composeStatus(): ServiceStatus[] {
  const out = compose(['ps', '--all', '--format', 'json']).trim()
  if (out === '') return []
  const rows = out.startsWith('[') ? (JSON.parse(out) as unknown[]) : out.split('\n').map((line) => JSON.parse(line) as unknown)
  return rows.map((row) => {
    const entry = row as { Service?: string; State?: string; Health?: string; Publishers?: { URL?: string; PublishedPort?: number }[] }
    const published = entry.Publishers?.find((p) => (p.PublishedPort ?? 0) > 0)
    const healthy = entry.State === 'running' && (entry.Health === undefined || entry.Health === '' || entry.Health === 'healthy')
    return {
      name: entry.Service ?? '?',
      address: published === undefined ? '-' : `${published.URL ?? '0.0.0.0'}:${published.PublishedPort ?? ''}`,
      state: entry.State !== 'running' ? 'stopped' : healthy ? 'healthy' : 'unhealthy',
      log: `docker compose logs ${entry.Service ?? ''}`,
    }
  })
}
