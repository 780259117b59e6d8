import { BigValueGraphMode, VisibilityMode } from '@grafana/grafana-foundation-sdk/common'
import { MappingType, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as HeatmapPanelBuilder, YAxisConfigBuilder } from '@grafana/grafana-foundation-sdk/heatmap'
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline'
import { dashboard, type ClassicDashboardBuilder, heatmapQuery, JOB, prometheus, query, stat, timeseries } from './common.js'

/** What the scorer emits, and which models produce it. */
export function scoringDashboard(): ClassicDashboardBuilder {
  return dashboard('churn-scoring', 'Churn / Scoring', 'Scores by risk band, their distribution, champion against shadow, fallbacks and the models in service.')
    .withRow(new RowBuilder('Scores'))
    .withPanel(timeseries('Scores by risk band', [
      query(`sum by (risk) (job_model_role_risk:churn_scores:rate1m{${JOB}, model_role="champion"})`, '{{risk}}'),
    ], { unit: 'cps', stacked: true, description: 'Scores emitted to churn.scores per second, by risk band.' }))
    .withPanel(timeseries('Champion vs shadow scores', [
      query(`sum by (model_role) (job_model_role_risk:churn_scores:rate1m{${JOB}})`, '{{model_role}}'),
    ], { unit: 'cps', description: 'Scores per second from the champion (churn.scores) and the challenger in shadow (churn.scores.shadow).' }))
    .withPanel(new HeatmapPanelBuilder()
      .title('Score distribution')
      .description('Emitted churn probabilities per second by histogram bucket (shadow scores aside).')
      .datasource(prometheus)
      .span(12)
      .height(8)
      .calculate(false)
      .yAxis(new YAxisConfigBuilder().unit('percentunit'))
      .withTarget(heatmapQuery(`sum by (le) (job_level_le:churn_score_probability_bucket:rate1m{${JOB}, level!="challenger"})`)))
    .withPanel(timeseries('Median churn probability: champion vs challenger', [
      query(`histogram_quantile(0.5, sum by (level, le) (job_level_le:churn_score_probability_bucket:rate1m{${JOB}, level=~"champion|challenger"}))`, '{{level}}'),
    ], { unit: 'percentunit', min: 0, max: 1, description: 'The same customers scored by both models: their medians side by side.' }))
    .withPanel(timeseries('Scorer records by outcome', [
      query(`sum by (outcome) (job_outcome:churn_scorer_records:rate1m{${JOB}})`, '{{outcome}}'),
    ], { unit: 'cps', stacked: true, span: 24, description: 'Feature vectors scored, suppressed (the score moved less than epsilon within its band) or dead-lettered.' }))

    .withRow(new RowBuilder('Models and fallbacks'))
    .withPanel(timeseries('Scores by fallback level', [
      query(`sum by (level) (job_level:churn_scores_by_fallback_level:rate1m{${JOB}})`, '{{level}}'),
    ], { unit: 'cps', stacked: true, span: 9, description: 'Which level of the chain produced each score: champion, previous champion, baseline, rules, base rate (challenger: shadow scores).' }))
    .withPanel(timeseries('Fallback share', [
      query(`max(job:churn_scores_fallback:ratio_rate1m{${JOB}})`, 'fallback'),
    ], { unit: 'percentunit', min: 0, threshold: 0.05, span: 9, description: 'Share of scores no champion produced (ChurnScoringFallbackInUse past 5% over 5 m).' }))
    .withPanel(stat('Model loads', [
      query(`sum by (outcome) (churn_scorer_model_loads_total{${JOB}})`, '{{outcome}}'),
    ], { unit: 'short', description: 'Model artifacts loaded or refused since the processes started.' }).graphMode(BigValueGraphMode.None).height(8))
    .withPanel(new StateTimelinePanelBuilder()
      .title('Model versions in service')
      .description('The version each slot serves over time.')
      .datasource(prometheus)
      .span(24)
      .height(7)
      .showValue(VisibilityMode.Never)
      .mappings([{ type: MappingType.ValueToText, options: { '1': { text: 'serving', color: 'green' } } }])
      .withTarget(query(`max by (slot, version) (churn_model_info{${JOB}})`, '{{slot}} {{version}}')))
    .withPanel(timeseries('Inference failures by level', [
      query(`sum by (level) (rate(churn_scoring_inference_failures_total{${JOB}}[$__rate_interval])) or sum by (level) (rate(churn_scoring_inference_duration_seconds_count{${JOB}}[$__rate_interval])) * 0`, '{{level}}'),
    ], { unit: 'cps', min: 0, description: 'Batches a model level could not score; the next level took over (0 while inference succeeds).' }))
    .withPanel(timeseries('Inference duration (p99) by level', [
      query(`histogram_quantile(0.99, sum by (level, le) (rate(churn_scoring_inference_duration_seconds_bucket{${JOB}}[$__rate_interval])))`, '{{level}}'),
    ], { unit: 's', min: 0, description: 'One ONNX call for a batch.' }))
}
