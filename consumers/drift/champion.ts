import { errorMessage } from '../../core/errors.js'
import type { Logger } from '../../core/logger.js'
import type { DriftOptions } from '../../drift/options.js'
import { driftReference } from '../../drift/reference.js'
import type { DriftReference } from '../../drift/types.js'
import { acquireModelLog } from '../../scoring/model-log.js'
import { readOnnxMetadata } from '../../trainer/onnx/runtime.js'
import type { RoleContext } from '../runtime/context.js'

/**
 * The drift reference of the registry's champion, following the model log: the training distributions and holdout
 * metrics in the champion's ONNX metadata. Undefined until a champion exists. A champion whose metadata cannot be read
 * is logged and the previous reference kept.
 */
export class ChampionReference {
  readonly #logger: Logger
  readonly #options: Pick<DriftOptions, 'categoricalFeatures' | 'categoricalMaxBins'>
  readonly #log: ReturnType<typeof acquireModelLog>['log']
  readonly #release: () => Promise<void>
  #unsubscribe: (() => void) | undefined
  #reference: DriftReference | undefined
  /** The last champion version looked at, readable or not. */
  #version: string | undefined
  #closing: Promise<void> | undefined

  constructor(context: RoleContext, logger: Logger, options: Pick<DriftOptions, 'categoricalFeatures' | 'categoricalMaxBins'>) {
    this.#logger = logger
    this.#options = options
    const { log, release } = acquireModelLog(context)
    this.#log = log
    this.#release = release
  }

  get reference(): DriftReference | undefined {
    return this.#reference
  }

  /** Reads the model log up to date (or for `catchUpMs`), then follows it. */
  async start(catchUpMs: number): Promise<void> {
    await this.#log.start(catchUpMs)
    this.#unsubscribe = this.#log.onChange(() => { this.#update() })
    this.#update()
  }

  #update(): void {
    const version = this.#log.state?.champion
    if (version === undefined || version === this.#version) return
    const artifact = this.#log.artifact(version)
    // Artifacts precede the events that name them; without one the champion is looked at again on the next change.
    if (artifact === undefined) return
    this.#version = version
    try {
      const reference = driftReference(version, readOnnxMetadata(artifact), this.#options)
      if (reference.features.length === 0) this.#logger.warn({ modelVersion: version }, 'the champion carries no reference distributions: only its scores are compared')
      this.#reference = reference
      this.#logger.info({ modelVersion: version, features: reference.features.length }, 'drift reference: new champion')
    } catch (error) {
      this.#logger.error({ err: error, modelVersion: version }, `the champion's drift reference cannot be read, keeping the previous one: ${errorMessage(error)}`)
    }
  }

  /** Stops following; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unsubscribe?.()
      await this.#release()
    })()
    return this.#closing
  }
}
