import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { JOB, panelQueries, renderDashboards } from '../../dashboards/src/index.js'

const jsonDir = join(projectRoot, 'dashboards', 'json')
const rendered = renderDashboards()
const queries = panelQueries()

describe('dashboards as code', () => {
  it('commits exactly the JSON the generator makes', () => {
    const committed = readdirSync(jsonDir).filter((name) => name.endsWith('.json')).sort()
    const stale = rendered.filter((dashboard) => !committed.includes(dashboard.file) || readFileSync(join(jsonDir, dashboard.file), 'utf8') !== dashboard.json)
    const extra = committed.filter((name) => !rendered.some((dashboard) => dashboard.file === name))
    const problems = [...stale.map((dashboard) => `${dashboard.file} differs from dashboards/src`), ...extra.map((name) => `${name} is no longer generated`)]
    expect(problems, `dashboards/json is stale: run npm run dashboards (${problems.join('; ')})`).toEqual([])
  })

  it('covers the pipeline, scoring, drift and gateway, refreshing every 5 s over the last 15 minutes', () => {
    const models = rendered.map((dashboard) => JSON.parse(dashboard.json) as { uid: string; refresh: string; time: { from: string; to: string } })
    expect(models.map((model) => model.uid)).toEqual(['churn-pipeline', 'churn-scoring', 'churn-drift', 'churn-gateway'])
    for (const model of models) expect([model.refresh, model.time]).toEqual(['5s', { from: 'now-15m', to: 'now' }])
  })

  it('queries the provisioned data source', () => {
    const provisioned = readFileSync(join(projectRoot, 'dashboards', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')
    const uid = /^\s*uid: (\S+)$/mu.exec(provisioned)?.[1]
    const uids = new Set(rendered.flatMap((dashboard) => [...dashboard.json.matchAll(/"type": "prometheus",\s*"uid": "([^"]+)"/gu)].map((match) => match[1])))
    expect([...uids]).toEqual([uid])
  })

  it('scopes every selector of every query by the $job variable', () => {
    expect(queries.length).toBeGreaterThan(30)
    const unscoped = queries.filter((q) => {
      const selectors = [...q.expr.matchAll(/\{([^}]*)\}/gu)].map((match) => match[1] ?? '')
      return selectors.length === 0 || selectors.some((matchers) => !matchers.split(/,\s*/u).includes(JOB))
    })
    expect(unscoped.map((q) => `${q.dashboard} / ${q.panel} ${q.refId}: ${q.expr}`)).toEqual([])
  })

  it('reads only recording rules that exist', () => {
    const recorded = new Set([...readFileSync(join(projectRoot, 'stack', 'prometheus', 'rules', 'churn-recording.yml'), 'utf8').matchAll(/record: (\S+)/gu)].map((match) => match[1]))
    const used = new Set(queries.flatMap((q) => [...q.expr.matchAll(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/gu)].map((match) => match[0])))
    expect(used.size).toBeGreaterThan(10)
    expect([...used].filter((name) => !recorded.has(name))).toEqual([])
  })

  it('names only metrics the code defines, in queries and in rules', () => {
    const sources = ['core', 'consumers', 'scoring', 'drift', 'trainer', 'feature-store', 'producers']
      .flatMap((dir) => readdirSync(join(projectRoot, dir), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts')).map((file) => join(projectRoot, dir, file)))
    const defined = new Set(sources.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/name: '(churn_[a-z0-9_]+)'/gu)].map((match) => match[1])))
    // prom-client's default metrics, registered under the churn_ prefix (core/metrics.ts).
    defined.add('churn_process_start_time_seconds')
    const rules = readdirSync(join(projectRoot, 'stack', 'prometheus', 'rules')).map((file) => readFileSync(join(projectRoot, 'stack', 'prometheus', 'rules', file), 'utf8'))
    const raw = /(?<![\w:])churn_[a-z0-9_]+(?![\w:])/gu
    const used = new Set([...queries.map((q) => q.expr), ...rules, ...rendered.map((d) => d.json)].flatMap((text) => [...text.matchAll(raw)].map((match) => match[0])))
    const base = (name: string): string => name.replace(/_(bucket|count|sum)$/u, '')
    expect([...used].filter((name) => !defined.has(name) && !defined.has(base(name))).sort()).toEqual([])
  })
})
