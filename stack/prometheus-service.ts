import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../core/config.js'
import { httpOk } from './probes.js'
import { NativeService, type LaunchSpec, type Requirement } from './service.js'
import type { StackSettings } from './settings.js'

/**
 * Prometheus from Debian's package. Scrape targets are files in `<stackDir>/prometheus/targets`
 * (file-based discovery), so processes and tests add and remove themselves without a reload.
 */
export class PrometheusService extends NativeService {
  readonly name = 'prometheus'

  constructor(stackDir: string, private readonly settings: StackSettings['prometheus'], private readonly metricsPort: number) {
    super(stackDir, settings)
  }

  override requirements(): Requirement[] {
    return [
      { tool: 'prometheus', debianPackage: 'prometheus' },
      { tool: 'promtool', debianPackage: 'prometheus' },
    ]
  }

  provision(): Promise<void> {
    mkdirSync(join(this.dir, 'data'), { recursive: true })
    mkdirSync(this.settings.targetsDir, { recursive: true })
    const template = readFileSync(join(projectRoot, 'stack', 'prometheus', 'prometheus.yml'), 'utf8')
    const rendered = template
      .replaceAll('${TARGETS_DIR}', this.settings.targetsDir)
      .replaceAll('${CHURN_METRICS_TARGET}', `127.0.0.1:${this.metricsPort}`)
      .replaceAll('${PROMETHEUS_ADDRESS}', this.address)
    writeFileSync(join(this.dir, 'prometheus.yml'), rendered)
    return Promise.resolve()
  }

  protected launch(): LaunchSpec {
    return {
      command: 'prometheus',
      args: [
        `--config.file=${join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=${this.address}`,
        '--web.enable-lifecycle',
        '--storage.tsdb.retention.time=3d',
      ],
    }
  }

  healthy(): Promise<boolean> {
    return httpOk(`${this.settings.url}/-/ready`)
  }
}
