import type { ModelRegistry, ModelVersion } from '../registry/registry.js'
import type { CandidateReport } from './types.js'

export interface RunProvenance {
  /** Who registers and promotes, for the audit trail (e.g. `trainer`). */
  readonly actor: string
  /** Why the run happened (the requests behind it), written into the registration's reason. */
  readonly cause: string
}

export interface PublishedCandidates {
  readonly challenger: ModelVersion
  readonly baseline: ModelVersion
  readonly promoted: boolean
  /** The gate's reasons, as recorded with the `promoted` or `rejected` transition. */
  readonly reasons: readonly string[]
  /** The champion after the decision. */
  readonly champion: string | undefined
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/**
 * Registers the challenger and the baseline, then records the gate's decision on the challenger: `promoted` to
 * champion, or `rejected` with the reasons (it stays registered). The baseline is never a candidate for champion:
 * the scorer falls back to it. Every step is a registry transition, so each is also on `churn.model.events`.
 */
export async function publishCandidates(registry: ModelRegistry, report: CandidateReport, provenance: RunProvenance): Promise<PublishedCandidates> {
  const { split } = report
  const evaluated = (rocAuc: number): string => `holdout ROC-AUC ${rocAuc.toFixed(4)} on ${split.holdoutRows} rows from ${day(split.cutoff)}, trained on ${split.trainRows} rows`
  const challenger = await registry.register({
    ...report.challenger.registration,
    actor: provenance.actor,
    reason: `${provenance.cause}; ${evaluated(report.challenger.holdout.rocAuc)}`,
  })
  const baseline = await registry.register({
    ...report.baseline.registration,
    actor: provenance.actor,
    reason: `logistic baseline trained beside ${challenger.version} (the scorer's fallback, never champion); ${evaluated(report.baseline.holdout.rocAuc)}`,
  })
  const compared = report.champion?.version
  const current = (await registry.aliases()).champion
  let promoted = report.gate.pass
  let reasons = [...report.gate.reasons]
  // The gate compared against the champion of when training began; a promotion by hand since then voids that comparison.
  if (current !== compared) {
    promoted = false
    reasons = [`the champion changed from ${compared ?? 'none'} to ${current ?? 'none'} while ${challenger.version} was trained; the gate compared against ${compared ?? 'no champion'}`, ...reasons]
  }
  if (promoted) await registry.promote(challenger.version, provenance.actor, `gate passed: ${reasons.join('; ')}`)
  else await registry.reject(challenger.version, provenance.actor, reasons)
  return { challenger, baseline, promoted, reasons, champion: promoted ? challenger.version : current }
}
