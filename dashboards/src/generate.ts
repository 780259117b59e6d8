import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../../core/config.js'
import { renderDashboards } from './index.js'

/** `npm run dashboards`: writes every dashboard's JSON model to dashboards/json, and removes any it no longer makes. */
const dir = join(projectRoot, 'dashboards', 'json')
mkdirSync(dir, { recursive: true })
const rendered = renderDashboards()
const files = new Set(rendered.map((dashboard) => dashboard.file))
for (const name of readdirSync(dir)) {
  if (name.endsWith('.json') && !files.has(name)) rmSync(join(dir, name))
}
for (const dashboard of rendered) {
  writeFileSync(join(dir, dashboard.file), dashboard.json)
  console.log(`dashboards/json/${dashboard.file}  ${dashboard.title}`)
}
