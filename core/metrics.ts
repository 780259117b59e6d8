import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collectDefaultMetrics, Registry } from 'prom-client'

/** A registry per process with the default process and Node.js metrics under the `churn_` prefix. */
export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry()
  registry.setDefaultLabels(labels)
  collectDefaultMetrics({ register: registry, prefix: 'churn_' })
  // prom-client also exports the sums of these labelled gauges as gauges named `..._total`, a suffix Prometheus
  // keeps for counters (`promtool check metrics` refuses them); sum(churn_nodejs_active_handles) says the same.
  for (const gauge of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`churn_nodejs_active_${gauge}_total`)
  return registry
}

export interface MetricsServer {
  readonly port: number
  readonly url: string
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Serves `GET /metrics` (Prometheus text format) and `GET /healthz`. */
export async function startMetricsServer(registry: Registry, options: { host?: string; port?: number } = {}): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1'
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (body) => {
          response.writeHead(200, { 'content-type': registry.contentType })
          response.end(body)
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' })
          response.end(String(error))
        },
      )
      return
    }
    if (request.method === 'GET' && path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.end('ok\n')
      return
    }
    response.writeHead(404, { 'content-type': 'text/plain' })
    response.end('not found\n')
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolvePromise()
    })
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolvePromise, reject) => {
      server.close((error) => {
        if (error) reject(error)
        else resolvePromise()
      })
      server.closeAllConnections()
    })
    return closing
  }
  return { port, url: `http://${host}:${port}/metrics`, close, [Symbol.asyncDispose]: close }
}

/**
 * Makes a set of metrics once per registry: a role or component created more than once in a process
 * (a restart in place, tests) shares its series instead of failing to register them again.
 */
export function metricsOnce<T>(create: (registers: Registry[]) => T): (registry: Registry) => T {
  const made = new WeakMap<Registry, T>()
  return (registry) => {
    let metrics = made.get(registry)
    if (metrics === undefined) {
      metrics = create([registry])
      made.set(registry, metrics)
    }
    return metrics
  }
}
