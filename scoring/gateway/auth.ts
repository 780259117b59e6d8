import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import type { Metadata } from '@grpc/grpc-js'

/** SHA-256 of an API key, in hex: what GATEWAY_API_KEY_HASHES holds. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare === 'localhost') return true
  if (isIP(bare) === 4) return bare.startsWith('127.')
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./iu.test(bare)
  return false
}

/** The key a call presents: `x-api-key`, else `authorization: Bearer <key>`. */
export function presentedKey(metadata: Metadata): string | undefined {
  const [key] = metadata.get('x-api-key')
  if (typeof key === 'string' && key !== '') return key
  const [authorization] = metadata.get('authorization')
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/iu.exec(authorization)
    if (match?.[1] !== undefined) return match[1]
  }
  return undefined
}

/**
 * Checks API keys against stored SHA-256 hashes. Comparing hashes of fixed length with
 * `timingSafeEqual`, and always against every stored hash, keeps the time spent independent of
 * how much of a key matched.
 */
export class ApiKeyVerifier {
  readonly #hashes: Buffer[]

  constructor(hashes: readonly string[]) {
    this.#hashes = hashes.map((hash) => Buffer.from(hash.toLowerCase(), 'hex'))
  }

  /** False when no keys are configured: every call is let through. */
  get enabled(): boolean {
    return this.#hashes.length > 0
  }

  verify(key: string | undefined): boolean {
    if (!this.enabled) return true
    if (key === undefined) return false
    const presented = createHash('sha256').update(key, 'utf8').digest()
    let matched = false
    for (const hash of this.#hashes) {
      if (timingSafeEqual(presented, hash)) matched = true
    }
    return matched
  }
}
