import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

function majorVersionOf(javaBinary: string): number | undefined {
  const result = spawnSync(javaBinary, ['-version'], { encoding: 'utf8' })
  if (result.error !== undefined || result.status !== 0) return undefined
  const match = /version "(\d+)(?:\.(\d+))?/u.exec(result.stderr)
  if (match?.[1] === undefined) return undefined
  const major = Number(match[1])
  return major === 1 ? Number(match[2]) : major
}

/**
 * A `java` binary of at least `minMajor`: JAVA_HOME first, then the one on PATH, then the JDKs
 * Debian and Temurin packages install under /usr/lib/jvm and any `extra` paths (newest first).
 */
export function findJava(minMajor: number, extra: string[] = []): { binary: string; major: number } | undefined {
  const candidates: string[] = []
  const javaHome = process.env['JAVA_HOME']
  if (javaHome !== undefined && javaHome !== '') candidates.push(join(javaHome, 'bin', 'java'))
  candidates.push('java')
  if (existsSync('/usr/lib/jvm')) {
    const homes = readdirSync('/usr/lib/jvm').map((name) => join('/usr/lib/jvm', name, 'bin', 'java'))
    candidates.push(...homes.filter((path) => existsSync(path)))
  }
  candidates.push(...extra.filter((path) => existsSync(path)))
  let best: { binary: string; major: number } | undefined
  for (const binary of candidates) {
    const major = majorVersionOf(binary)
    if (major === undefined || major < minMajor) continue
    if (binary === candidates[0] || binary === 'java') return { binary, major }
    if (best === undefined || major > best.major) best = { binary, major }
  }
  return best
}
