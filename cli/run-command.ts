import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Command } from 'commander'
import type { DestinationStream } from 'pino'
import type { Registry } from 'prom-client'
import { config, type Config } from '../core/config.js'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { Lifecycle } from '../core/lifecycle.js'
import { createLogger } from '../core/logger.js'
import { createMetricsRegistry, startMetricsServer } from '../core/metrics.js'
import { createRoleContext, type RoleContext, type RunningRole } from '../consumers/runtime/context.js'
import { roleNames, roles } from './roles.js'

export interface RunOptions {
  roles: string[]
  /** Stable across restarts of the same instance (transactional ids derive from it). */
  instanceId?: string
  /** @default the environment's configuration */
  settings?: Config
  /** Where the roles log. @default stdout */
  logDestination?: DestinationStream
  /** Whether SIGTERM/SIGINT stop the roles and exit the process. @default true */
  handleSignals?: boolean
}

/** Starts roles in this process and returns once they run; SIGTERM/SIGINT stop them in order. */
export async function runRoles(options: RunOptions): Promise<{ lifecycle: Lifecycle; running: RunningRole[]; context: RoleContext; metrics: Registry; metricsUrl: string }> {
  const settings = options.settings ?? config()
  const unknown = options.roles.filter((name) => !roleNames().includes(name))
  if (unknown.length > 0) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `unknown role(s) ${unknown.join(', ')}; known: ${roleNames().join(', ')}`)
  const selected = roles.filter((role) => options.roles.includes(role.name))
  const instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`
  const logger = createLogger({ level: settings.LOG_LEVEL, name: 'churn', ...(options.logDestination === undefined ? {} : { destination: options.logDestination }) }).child({ instance: instanceId })
  const lifecycle = new Lifecycle({
    logger,
    timeoutMs: settings.SHUTDOWN_TIMEOUT_MS,
    onSignalShutdown: (code) => {
      process.exit(code)
    },
  })
  const metrics = createMetricsRegistry({ instance: instanceId })
  const server = await startMetricsServer(metrics, { host: settings.METRICS_HOST, port: settings.METRICS_PORT })
  lifecycle.onShutdown('metrics server', () => server.close())
  const context = createRoleContext({ config: settings, logger, metrics, lifecycle, instanceId })
  if (options.handleSignals !== false) lifecycle.installSignalHandlers()
  const running: RunningRole[] = []
  for (const role of selected) {
    const started = await role.start(context)
    running.push(started)
    lifecycle.onShutdown(`role ${role.name}`, () => started.close())
    logger.info({ role: role.name }, 'role started')
  }
  lifecycle.markRunning()
  logger.info({ roles: selected.map((role) => role.name), metrics: server.url }, 'running')
  return { lifecycle, running, context, metrics, metricsUrl: server.url }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run roles in this process until SIGTERM/SIGINT')
    .option('--roles <list>', `comma-separated roles (default: all of ${roleNames().join(', ') || 'none yet'})`)
    .option('--instance <id>', 'a stable instance id, so a restarted process fences its predecessor')
    .action(async (options: { roles?: string; instance?: string }) => {
      const names = options.roles === undefined ? roleNames() : options.roles.split(',').map((name) => name.trim()).filter((name) => name !== '')
      await runRoles({ roles: names, ...(options.instance === undefined ? {} : { instanceId: options.instance }) })
    })
}
