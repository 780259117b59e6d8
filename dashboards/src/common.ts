import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import {
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/common'
import { DashboardBuilder, QueryVariableBuilder, ThresholdsConfigBuilder, ThresholdsMode, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard'
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus'
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries'

/** The Prometheus data source as dashboards/grafana/provisioning/datasources/prometheus.yml names it. */
export const prometheus: DataSourceRef = { type: 'prometheus', uid: 'prometheus' }

/**
 * The matcher every query carries: the `$job` variable picks the deployments shown (all by default).
 * Recording rules keep `job` for the same reason.
 */
export const JOB = 'job=~"$job"'

/** Refresh and time range shared by every dashboard. */
const refresh = '5s'
const timeRange = { from: 'now-15m', to: 'now' }

/**
 * The classic dashboard model (schemaVersion 42). The SDK deprecates it for dashboardv2, which Grafana 12.1
 * provisions from files only behind feature toggles; the classic model is what a file provider reads as is.
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
export type ClassicDashboardBuilder = DashboardBuilder

export function dashboard(uid: string, title: string, description: string): ClassicDashboardBuilder {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see ClassicDashboardBuilder
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['churn', 'generated'])
    .refresh(refresh)
    .time(timeRange)
    .timezone('browser')
    .editable()
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .description('Prometheus job of the churn processes (a deployment, or a test run)')
        .datasource(prometheus)
        .query('label_values(churn_process_start_time_seconds, job)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all' }),
    )
}

export function query(expr: string, legend: string, refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder().datasource(prometheus).expr(expr).legendFormat(legend).refId(refId)
}

/** A query whose series are histogram buckets (`le`), drawn as a heatmap. */
export function heatmapQuery(expr: string): DataqueryBuilder {
  return query(expr, '{{le}}').format(PromQueryFormat.Heatmap)
}

/** Several queries on one panel get refIds A, B, C... */
function withTargets<T extends { withTarget(target: cog.Builder<cog.Dataquery>): T }>(panel: T, queries: DataqueryBuilder[]): T {
  queries.forEach((target, i) => panel.withTarget(target.refId(String.fromCharCode(65 + i))))
  return panel
}

export interface TimeseriesOptions {
  unit: string
  description: string
  stacked?: boolean
  /** A dashed red line from this value up. */
  threshold?: number
  min?: number
  max?: number
  /** Many series: a table legend on the right. */
  tableLegend?: boolean
  span?: number
}

export function timeseries(title: string, queries: DataqueryBuilder[], options: TimeseriesOptions): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(title)
    .description(options.description)
    .datasource(prometheus)
    .unit(options.unit)
    .span(options.span ?? 12)
    .height(8)
    .fillOpacity(options.stacked === true ? 40 : 10)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(options.tableLegend === true ? LegendDisplayMode.Table : LegendDisplayMode.List)
        .placement(options.tableLegend === true ? LegendPlacement.Right : LegendPlacement.Bottom)
        .calcs(options.tableLegend === true ? ['lastNotNull', 'max'] : []),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
  if (options.stacked === true) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
  if (options.min !== undefined) panel.min(options.min)
  if (options.max !== undefined) panel.max(options.max)
  if (options.threshold !== undefined) {
    panel
      .thresholds(thresholds(options.threshold))
      .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
  }
  return withTargets(panel, queries)
}

export interface StatOptions {
  unit: string
  description: string
  /** Red from this value up. */
  threshold?: number
  span?: number
}

export function stat(title: string, queries: DataqueryBuilder[], options: StatOptions): StatPanelBuilder {
  const panel = new StatPanelBuilder()
    .title(title)
    .description(options.description)
    .datasource(prometheus)
    .unit(options.unit)
    .span(options.span ?? 6)
    .height(4)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
  if (options.threshold !== undefined) panel.thresholds(thresholds(options.threshold))
  return withTargets(panel, queries)
}

function thresholds(red: number): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: red, color: 'red' },
  ])
}
