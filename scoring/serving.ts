import type { RoleContext } from '../consumers/runtime/context.js'
import type { Logger } from '../core/logger.js'
import type { FeatureSet } from '../feature-store/feature-set.js'
import { ScoringEngine } from './engine.js'
import { ModelManager } from './model-manager.js'
import { acquireModelLog, type ModelLog } from './model-log.js'
import type { RiskThresholds } from './risk.js'

export interface ModelServingOptions {
  logger: Logger
  thresholds: RiskThresholds
  /** Reasons attached to each score. */
  topReasons: number
  /** Churn rate used at the base-rate level when no champion states its training rate. */
  defaultBaseRate: number
  /** Score by the declared business rules when no model can; off goes straight to the base rate. */
  rules: boolean
  /** Longest to wait at start for the model log to be read up to date. */
  modelCatchUpMs: number
}

/** What a scoring role needs: the engine, the models it scores with (kept in step with the registry), and the log they follow. */
export interface ModelServing {
  readonly engine: ScoringEngine
  readonly manager: ModelManager
  readonly log: ModelLog
  /** Stops following the model log (the process's shared log stops with its last user) and releases the models. */
  close(): Promise<void>
}

/**
 * Starts serving models for `featureSet`: follows the process's model log (shared between the roles
 * that score), loads what the registry names and keeps the set up to date. Resolves once the log
 * has been read up to date (or `modelCatchUpMs` passed) and the named models are loaded.
 */
export async function startModelServing(context: RoleContext, featureSet: FeatureSet, options: ModelServingOptions): Promise<ModelServing> {
  const { logger } = options
  const engine = new ScoringEngine({ featureSetVersion: featureSet.version, featureNames: featureSet.names, thresholds: options.thresholds, topReasons: options.topReasons, logger, metrics: context.metrics })
  const manager = new ModelManager({ expected: { featureSetVersion: featureSet.version, featureNames: featureSet.names }, defaultBaseRate: options.defaultBaseRate, logger, metrics: context.metrics, ...(options.rules ? {} : { rules: [] }) })
  const { log, release: releaseLog } = acquireModelLog(context)
  const unsubscribe = log.onChange(() => void manager.update(log))
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unsubscribe()
      try {
        await releaseLog()
      } finally {
        await manager.close()
      }
    })()
    return closing
  }
  try {
    await log.start(options.modelCatchUpMs)
    await manager.update(log)
  } catch (error) {
    await close()
    throw error
  }
  return { engine, manager, log, close }
}
