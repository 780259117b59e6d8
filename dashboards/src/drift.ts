import { GraphDrawStyle } from '@grafana/grafana-foundation-sdk/common'
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard'
import { dashboard, type ClassicDashboardBuilder, JOB, query, stat, timeseries } from './common.js'

/** What the drift role measures, and what the trainer does about it. */
export function driftDashboard(): ClassicDashboardBuilder {
  return dashboard('churn-drift', 'Churn / Drift and retraining', 'Feature and score drift per closed window, realised performance, retrain requests, training runs and promotions.')
    .withRow(new RowBuilder('Drift'))
    .withPanel(timeseries('Feature PSI', [
      query(`max by (feature) (churn_drift_feature_psi{${JOB}})`, '{{feature}}'),
    ], { unit: 'none', min: 0, threshold: 0.2, tableLegend: true, span: 24, description: 'Population stability index of each feature in the last closed window against the champion\'s training reference.' }))
    .withPanel(timeseries('Feature KS', [
      query(`max by (feature) (churn_drift_feature_ks{${JOB}})`, '{{feature}}'),
    ], { unit: 'none', min: 0, tableLegend: true, description: 'Binned Kolmogorov-Smirnov statistic of each numeric feature, same windows.' }))
    .withPanel(timeseries('Score distribution drift and realised performance', [
      query(`max(churn_drift_score_js{${JOB}})`, 'score JS divergence (bits)'),
      query(`max(churn_drift_realised_roc_auc{${JOB}})`, 'realised ROC-AUC'),
    ], { unit: 'none', min: 0, description: 'Jensen-Shannon divergence of the last window\'s scores from the reference, and ROC-AUC of the last cohort whose labels became final.' }))
    .withPanel(timeseries('Drift reports', [
      query(`sum by (kind, breached) (increase(churn_drift_reports_total{${JOB}}[$__rate_interval]))`, '{{kind}} breached={{breached}}'),
    ], { unit: 'short', stacked: true, span: 8, description: 'Reports published as windows close; a breach counts toward a retrain request (ChurnDriftDetected).' }).drawStyle(GraphDrawStyle.Bars))
    .withPanel(timeseries('Retrain requests by reason', [
      query(`sum by (reason) (increase(churn_drift_retrain_requests_total{${JOB}}[$__rate_interval]))`, '{{reason}}'),
    ], { unit: 'short', stacked: true, span: 8, description: 'Requests the drift role published: drift, performance or schedule.' }).drawStyle(GraphDrawStyle.Bars))
    .withPanel(timeseries('Event-time watermark lag', [
      query(`max(churn_drift_watermark_lag_seconds{${JOB}})`, 'watermark lag'),
    ], { unit: 's', min: 0, span: 8, description: 'Wall-clock time minus the drift role\'s event-time watermark: windows close this late.' }))

    .withRow(new RowBuilder('Retraining'))
    .withPanel(timeseries('Training runs by outcome', [
      query(`sum by (outcome) (increase(churn_trainer_runs_total{${JOB}}[$__rate_interval]))`, '{{outcome}}'),
    ], { unit: 'short', stacked: true, span: 9, description: 'Runs promoted, rejected by the gate, skipped (too little data), failed (retried) or aborted.' }).drawStyle(GraphDrawStyle.Bars))
    .withPanel(timeseries('Holdout ROC-AUC: champion vs last challenger', [
      query(`max(churn_trainer_champion_holdout_roc_auc{${JOB}})`, 'champion'),
      query(`max(churn_trainer_challenger_holdout_roc_auc{${JOB}})`, 'challenger'),
    ], { unit: 'none', span: 9, description: 'Both models on the last run\'s holdout: the gate promotes a challenger that beats the champion.' }))
    .withPanel(stat('Promotions since start', [
      query(`sum(churn_trainer_runs_total{${JOB}, outcome="promoted"})`, 'promoted'),
    ], { unit: 'short', description: 'Runs whose model became champion since the trainers started.' }).height(8))
    .withPanel(timeseries('Retrain requests at the trainer', [
      query(`sum(increase(churn_trainer_requests_consumed_total{${JOB}}[$__rate_interval]))`, 'consumed'),
      query(`sum(increase(churn_trainer_requests_coalesced_total{${JOB}}[$__rate_interval]))`, 'coalesced'),
      query(`sum(churn_trainer_pending_requests{${JOB}})`, 'pending'),
    ], { unit: 'short', min: 0, span: 8, description: 'Requests consumed and coalesced into another run, and those waiting for the next run.' }))
    .withPanel(timeseries('Mean training run duration by outcome', [
      query(`sum by (outcome) (churn_trainer_run_duration_seconds_sum{${JOB}}) / sum by (outcome) (churn_trainer_run_duration_seconds_count{${JOB}})`, '{{outcome}}'),
    ], { unit: 's', min: 0, span: 8, description: 'From loading the training set to the registry decision, averaged since the trainers started.' }))
    .withPanel(timeseries('Training rows by split', [
      query(`max by (split) (churn_trainer_training_rows{${JOB}})`, '{{split}}'),
    ], { unit: 'short', min: 0, span: 8, description: 'Rows of the last training set: train, holdout, and purged between them.' }))
}
