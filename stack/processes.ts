import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'

export interface DetachedProcess {
  command: string
  args: string[]
  cwd: string
  logFile: string
  pidFile: string
  env?: NodeJS.ProcessEnv
}

/** Starts a process that outlives this one, in its own process group, output appended to its log. */
export function startDetached(spec: DetachedProcess): number {
  const out = openSync(spec.logFile, 'a')
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    })
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`)
    child.unref()
    writeFileSync(spec.pidFile, `${child.pid}\n`)
    return child.pid
  } finally {
    closeSync(out)
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The pid recorded in `pidFile` if that process is still alive and runs in, or names, `marker`
 * (the service's state folder), so a recycled pid is never mistaken for our service. Both are
 * checked because some servers rewrite their command line.
 */
export function runningPid(pidFile: string, marker: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10)
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined
  try {
    if (readlinkSync(`/proc/${pid}/cwd`).startsWith(marker)) return pid
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    return cmdline.includes(marker) ? pid : undefined
  } catch {
    return undefined
  }
}

/** SIGTERM to the process group, then SIGKILL if it has not exited within `timeoutMs`. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<'terminated' | 'killed'> {
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal)
    } catch {
      try {
        process.kill(pid, signal)
      } catch {
        // already gone
      }
    }
  }
  signalGroup('SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated'
    await delay(100)
  }
  signalGroup('SIGKILL')
  while (isAlive(pid)) await delay(50)
  return 'killed'
}

export function removeFile(path: string): void {
  rmSync(path, { force: true })
}

/** The last lines of a log, for error messages. */
export function tail(path: string, lines = 15): string {
  if (!existsSync(path)) return '(no log yet)'
  const content = readFileSync(path, 'utf8').trimEnd().split('\n')
  return content.slice(-lines).join('\n')
}
