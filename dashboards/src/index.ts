import type { ClassicDashboardBuilder } from './common.js'
import { driftDashboard } from './drift.js'
import { gatewayDashboard } from './gateway.js'
import { pipelineDashboard } from './pipeline.js'
import { scoringDashboard } from './scoring.js'

export { JOB } from './common.js'

/** Every dashboard, in the order Grafana's folder lists them. */
const builders: readonly (() => ClassicDashboardBuilder)[] = [pipelineDashboard, scoringDashboard, driftDashboard, gatewayDashboard]

export interface RenderedDashboard {
  uid: string
  title: string
  /** Path under `dashboards/json`. */
  file: string
  /** The JSON model as committed: two-space indented, with a final newline. */
  json: string
}

export interface PanelQuery {
  dashboard: string
  panel: string
  refId: string
  expr: string
}

interface PanelLike {
  title?: string
  id?: number
  targets?: { refId?: string; expr?: unknown }[]
}

function build(builder: () => ClassicDashboardBuilder): { uid: string; title: string; panels: PanelLike[]; model: object } {
  const model = builder().build()
  const panels = (model.panels ?? []) as PanelLike[]
  // Stable ids, so links to a panel (`viewPanel=`) survive regeneration.
  panels.forEach((panel, i) => { panel.id = i + 1 })
  return { uid: model.uid ?? '', title: model.title ?? '', panels, model }
}

export function renderDashboards(): RenderedDashboard[] {
  return builders.map((builder) => {
    const { uid, title, model } = build(builder)
    return { uid, title, file: `${uid}.json`, json: `${JSON.stringify(model, null, 2)}\n` }
  })
}

/** Every PromQL query of every panel, with Grafana's variables (`$job`, `$__rate_interval`) as written. */
export function panelQueries(): PanelQuery[] {
  return builders.flatMap((builder) => {
    const { title: dashboard, panels } = build(builder)
    return panels.flatMap((panel) => (panel.targets ?? []).map((target) => {
      if (typeof target.expr !== 'string') throw new Error(`${dashboard} / ${panel.title ?? '?'}: a query without a PromQL expression`)
      return { dashboard, panel: panel.title ?? '', refId: target.refId ?? '', expr: target.expr }
    }))
  })
}
