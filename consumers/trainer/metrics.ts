import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { RunOutcome } from './types.js'

export interface TrainerMetrics {
  runs: Counter<'outcome'>
  runDuration: Histogram<'outcome'>
  requestsConsumed: Counter
  requestsCoalesced: Counter
  requestsDeadLettered: Counter<'reason'>
  pendingRequests: Gauge
  trainingRows: Gauge<'split'>
  challengerRocAuc: Gauge
  championRocAuc: Gauge
  lastRunTime: Gauge<'outcome'>
  commitErrors: Counter
}

// One set per registry: a trainer restarted in the same process reuses the series instead of failing to register them twice.
const byRegistry = new WeakMap<Registry, TrainerMetrics>()

export function trainerMetrics(registry: Registry): TrainerMetrics {
  let metrics = byRegistry.get(registry)
  if (metrics === undefined) {
    const registers = [registry]
    metrics = {
      runs: new Counter({ name: 'churn_trainer_runs_total', help: 'Training runs by outcome: promoted, rejected (by the gate), skipped (not enough data), failed (an error; retried), aborted (shutdown).', labelNames: ['outcome'], registers }),
      runDuration: new Histogram({ name: 'churn_trainer_run_duration_seconds', help: 'Time of one training run, from loading the training set to the registry decision.', labelNames: ['outcome'], buckets: [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_200, 3_600], registers }),
      requestsConsumed: new Counter({ name: 'churn_trainer_requests_consumed_total', help: 'Valid retrain requests consumed (a request consumed again after a restart counts again).', registers }),
      requestsCoalesced: new Counter({ name: 'churn_trainer_requests_coalesced_total', help: 'Retrain requests that did not cause a run of their own: they joined a pending run or the data of a finished run covered them.', registers }),
      requestsDeadLettered: new Counter({ name: 'churn_trainer_requests_dead_lettered_total', help: 'Retrain requests sent to the dead-letter topic, by reason.', labelNames: ['reason'], registers }),
      pendingRequests: new Gauge({ name: 'churn_trainer_pending_requests', help: 'Requests waiting for the next run (for the running one to end, or for the cooldown).', registers }),
      trainingRows: new Gauge({ name: 'churn_trainer_training_rows', help: 'Rows of the last training set, by split (train, holdout, purged).', labelNames: ['split'], registers }),
      challengerRocAuc: new Gauge({ name: 'churn_trainer_challenger_holdout_roc_auc', help: 'ROC-AUC of the last challenger on its holdout.', registers }),
      championRocAuc: new Gauge({ name: 'churn_trainer_champion_holdout_roc_auc', help: 'ROC-AUC, on the last holdout, of the model that is champion after the last run.', registers }),
      lastRunTime: new Gauge({ name: 'churn_trainer_last_run_timestamp_seconds', help: 'When the last run of each outcome ended (Unix time).', labelNames: ['outcome'], registers }),
      commitErrors: new Counter({ name: 'churn_trainer_commit_errors_total', help: 'Offset commits that failed (retried with the next commit; the requests may be consumed again).', registers }),
    }
    byRegistry.set(registry, metrics)
  }
  return metrics
}

export function recordRun(metrics: TrainerMetrics, outcome: RunOutcome, seconds: number): void {
  metrics.runs.inc({ outcome })
  metrics.runDuration.observe({ outcome }, seconds)
  metrics.lastRunTime.set({ outcome }, Date.now() / 1000)
}
