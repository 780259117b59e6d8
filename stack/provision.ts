import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { ChurnError, ErrorCodes } from '../core/errors.js'

export function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' }).status === 0
}


export const isDebian = (): boolean => existsSync('/etc/debian_version')
export const isRoot = (): boolean => process.getuid?.() === 0

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Output is appended here; an error names this file. */
  logFile: string
  what: string
}

/** Runs a command to completion, its output to a log; a failure names the command and the log. */
export function run(command: string, args: string[], options: RunOptions): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(options.logFile, { flags: 'a' })
    log.write(`\n$ ${command} ${args.join(' ')}\n`)
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.pipe(log, { end: false })
    child.stderr.pipe(log, { end: false })
    child.once('error', (error) => {
      log.end()
      reject(new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `${options.what}: could not run ${command}: ${error.message}`))
    })
    child.once('close', (code) => {
      log.end()
      if (code === 0) resolvePromise()
      else reject(new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `${options.what} failed (${command} exited with ${code}); see ${options.logFile}`))
    })
  })
}

const policyFile = '/usr/sbin/policy-rc.d'

/**
 * Installs Debian packages without letting their maintainer scripts start system services:
 * the stack runs its own instances on its own ports and folders.
 */
export async function aptInstall(packages: string[], logFile: string): Promise<void> {
  if (packages.length === 0) return
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const listsEmpty = !existsSync('/var/lib/apt/lists') || !readdirSync('/var/lib/apt/lists').some((name) => name.endsWith('_Packages'))
  const ownPolicy = !existsSync(policyFile)
  if (ownPolicy) writeFileSync(policyFile, '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  try {
    if (listsEmpty) await run('apt-get', ['update'], { env, logFile, what: 'apt-get update' })
    const install = (): Promise<void> =>
      run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env, logFile, what: `installing ${packages.join(', ')}` })
    try {
      await install()
    } catch {
      // Stale package lists are the usual cause; refresh once and try again.
      await run('apt-get', ['update'], { env, logFile, what: 'apt-get update' })
      await install()
    }
  } finally {
    if (ownPolicy) rmSync(policyFile, { force: true })
  }
}
