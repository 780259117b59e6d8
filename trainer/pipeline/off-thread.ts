import { setImmediate as nextTurn } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { ChurnError, ErrorCodes, type ErrorCode } from '../../core/errors.js'
import { trainCandidates } from './candidates.js'
import type { TrainingOptions } from './options.js'
import type { CandidateReport, ChampionArtifact, TrainingData } from './types.js'

export interface TrainingJob {
  readonly data: TrainingData
  readonly options: TrainingOptions
  readonly champion?: ChampionArtifact
}

/** @internal What the worker thread sends back. */
export type WorkerReply = { ok: true; report: CandidateReport } | { ok: false; message: string; code?: ErrorCode; canRetry?: boolean; details?: Record<string, unknown> }

/**
 * `worker`: a worker thread (the calling thread stays free for heartbeats, other roles and /metrics);
 * `inline`: the calling thread; `auto`: a worker when the compiled build runs, inline from TypeScript sources
 * (under vitest), where a worker thread could not load the sources; asked for there, `worker` runs the compiled build's.
 */
export type TrainingThread = 'auto' | 'worker' | 'inline'

/** From TypeScript sources, a worker runs the compiled build's worker (`npm run build`), which Node can load. */
const workerUrl = new URL(import.meta.url.endsWith('.ts') ? '../../dist/trainer/pipeline/worker.js' : './worker.js', import.meta.url)

/** Whether `auto` picks a worker thread here. */
export const workerAvailable = !import.meta.url.endsWith('.ts')

/**
 * Runs `trainCandidates` without blocking the calling thread for the length of the training. Aborting terminates the
 * worker and rejects with a CLOSED error; training inline cannot be interrupted once it has begun.
 */
export async function trainCandidatesOffThread(job: TrainingJob, options: { signal?: AbortSignal; thread?: TrainingThread } = {}): Promise<CandidateReport> {
  const thread = options.thread ?? 'auto'
  options.signal?.throwIfAborted()
  if (thread === 'inline' || (thread === 'auto' && !workerAvailable)) {
    // Let pending I/O (heartbeats, fetches) run once before the thread is taken.
    await nextTurn()
    options.signal?.throwIfAborted()
    return trainCandidates(job.data, job.options, job.champion)
  }
  return new Promise<CandidateReport>((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: job })
    let settled = false
    const settle = (outcome: () => void): void => {
      if (settled) return
      settled = true
      options.signal?.removeEventListener('abort', onAbort)
      outcome()
    }
    const onAbort = (): void => {
      settle(() => { reject(new ChurnError(ErrorCodes.CLOSED, 'training aborted', { cause: options.signal?.reason })) })
      void worker.terminate()
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    worker.once('message', (reply: WorkerReply) => {
      settle(() => {
        if (reply.ok) resolve(reply.report)
        else reject(new ChurnError(reply.code ?? ErrorCodes.VALIDATION, reply.message, { canRetry: reply.canRetry ?? false, details: reply.details ?? {} }))
      })
    })
    worker.once('error', (error) => {
      settle(() => { reject(new ChurnError(ErrorCodes.TRANSPORT, `training worker failed: ${error.message}`, { canRetry: true, cause: error })) })
    })
    worker.once('exit', (code) => {
      settle(() => { reject(new ChurnError(ErrorCodes.TRANSPORT, `training worker exited with code ${code} before replying`, { canRetry: true })) })
    })
  })
}
