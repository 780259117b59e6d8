import { config } from '../../core/config.js'
import { Stack } from '../../stack/stack.js'

/** Integration tests run against the real stack; bring it up when it is not running. */
export default async function setup(): Promise<void> {
  await new Stack(config(), (line) => { console.log(`[stack] ${line}`) }).up()
}
