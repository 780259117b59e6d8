import type { DemoObserver } from './observer.js'

export interface ViewState {
  phase: 'history' | 'catching up' | 'training' | 'live' | 'following'
  published: number
  simTime: number
  driftAt: number
  startedAt: number
  champion: string | undefined
  samples: { eventsPerSecond: number; scoresPerSecond: number }[]
  lags: Map<string, number>
  p99Ms: number | undefined
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
const rate = (value: number | undefined): string => (value === undefined ? '-' : Math.round(value).toLocaleString('en-US'))

function sparkline(values: readonly number[]): string {
  const marks = '▁▂▃▄▅▆▇█'
  const max = Math.max(1, ...values)
  return values.map((v) => marks[Math.min(marks.length - 1, Math.floor((v / max) * (marks.length - 1)))] ?? ' ').join('')
}

/** The demo's terminal view: a full screen when interactive, one status line otherwise. */
export function renderView(state: ViewState, observer: DemoObserver, interactive: boolean): string {
  const last = state.samples.at(-1)
  const drift = state.simTime >= state.driftAt ? `injected ${day(state.driftAt)}` : `at ${day(state.driftAt)}`
  const lag = [...state.lags].map(([group, records]) => `${group.replace(/^churn-/u, '')} ${records.toLocaleString('en-US')}`).join('  ') || '-'
  if (!interactive) {
    return `[${Math.round((Date.now() - state.startedAt) / 1000)}s] ${state.phase} sim ${day(state.simTime)}  events/s ${rate(last?.eventsPerSecond)}  scores/s ${rate(last?.scoresPerSecond)}  p99 ${state.p99Ms === undefined ? '-' : `${Math.round(state.p99Ms)} ms`}  champion ${state.champion ?? '-'}  drift ${drift}  windows ${observer.windows.length} (${observer.counts.breachedWindows} breached)  retrains ${observer.counts.retrainRequests}  promotions ${observer.counts.promotions}  lag ${lag}`
  }
  const windows = observer.windows.slice(-8).map((w) => `  ${day(w.windowStart)}  ${w.breached ? 'DRIFT' : 'ok   '}  top PSI ${w.topPsi.toFixed(3)} ${w.topFeature ?? ''}${w.scoreJs === null ? '' : `  score JS ${w.scoreJs.toFixed(3)}`}`)
  const happenings = observer.happenings.slice(-8).map((h) => `  ${new Date(h.at).toISOString().slice(11, 19)}  ${h.text}`)
  return [
    '\x1b[2J\x1b[H',
    `churn demo  ·  ${state.phase}  ·  ${Math.round((Date.now() - state.startedAt) / 1000)} s  ·  simulated ${day(state.simTime)}  ·  drift ${drift}`,
    '',
    `events/s   ${rate(last?.eventsPerSecond).padStart(7)}  ${sparkline(state.samples.map((s) => s.eventsPerSecond))}`,
    `scores/s   ${rate(last?.scoresPerSecond).padStart(7)}  ${sparkline(state.samples.map((s) => s.scoresPerSecond))}`,
    `published  ${state.published.toLocaleString('en-US')}`,
    `event-to-score p99  ${state.p99Ms === undefined ? '-' : `${Math.round(state.p99Ms)} ms`}`,
    `consumer lag (records)  ${lag}`,
    `champion   ${state.champion ?? 'none yet (rules and base rate serve)'}   registered ${observer.counts.registered}, promoted ${observer.counts.promotions}, rejected ${observer.counts.rejections}${observer.lastRealisedAuc === null ? '' : `, realised AUC ${observer.lastRealisedAuc.toFixed(3)}`}`,
    '',
    `drift windows (${observer.windows.length} closed, ${observer.counts.breachedWindows} breached), newest last:`,
    ...(windows.length > 0 ? windows : ['  none closed yet']),
    '',
    `retrain requests ${observer.counts.retrainRequests}; what happened, newest last:`,
    ...(happenings.length > 0 ? happenings : ['  nothing yet']),
    '',
    'Ctrl-C ends the demo early.',
  ].join('\n')
}
