#!/usr/bin/env node
// The `churn` command runs the compiled CLI; `npm install` (or `npm run build`) compiles it.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('churn: the CLI is not built yet; run `npm install` (or `npm run build`) in the project folder first.')
  process.exit(1)
}
await import(entry.href)
