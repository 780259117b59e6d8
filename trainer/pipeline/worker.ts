import { parentPort, workerData } from 'node:worker_threads'
import { ChurnError, errorMessage } from '../../core/errors.js'
import { trainCandidates } from './candidates.js'
import type { TrainingJob, WorkerReply } from './off-thread.js'

// Entry of the training worker thread: one job in `workerData`, one reply, then the thread ends.
const job = workerData as TrainingJob
let reply: WorkerReply
try {
  reply = { ok: true, report: trainCandidates(job.data, job.options, job.champion) }
} catch (error) {
  reply = {
    ok: false,
    message: errorMessage(error),
    ...(error instanceof ChurnError ? { code: error.code, canRetry: error.canRetry, details: error.details } : {}),
  }
}
parentPort?.postMessage(reply)
