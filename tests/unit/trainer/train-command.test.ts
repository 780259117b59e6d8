import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { registerTrainCommand } from '../../../cli/train-command.js'
import { ChurnError } from '../../../core/errors.js'
import { SeededRandom } from '../../../trainer/dataset/index.js'

const folder = mkdtempSync(join(tmpdir(), 'train-command-test-'))
afterAll(() => { rmSync(folder, { recursive: true, force: true }) })
afterEach(() => { vi.restoreAllMocks() })

/** A churn CSV: id, a categorical plan, numbers with gaps, a yes/no flag and a Yes/No label that depends on them. */
function writeCsv(name: string, rows: number, label: (row: number, churn: boolean) => string = (_row, churn) => (churn ? 'Yes' : 'No')): string {
  const random = new SeededRandom(5)
  const lines = ['customer_id,plan,tenure_months,monthly_charges,autopay,churned']
  for (let row = 0; row < rows; row++) {
    const plan = ['basic', 'pro', 'max'][random.int(3)] ?? 'basic'
    const tenure = random.int(60)
    const charges = (20 + 80 * random.float()).toFixed(2)
    const autopay = random.float() < 0.5 ? 'yes' : 'no'
    const risk = (plan === 'basic' ? 1 : -0.5) - tenure / 20 + (autopay === 'no' ? 0.8 : 0)
    const churn = random.float() < 1 / (1 + Math.exp(-risk))
    lines.push([`c-${1000 + row}`, plan, random.float() < 0.05 ? 'NA' : String(tenure), random.float() < 0.05 ? '' : charges, autopay, label(row, churn)].join(','))
  }
  const path = join(folder, name)
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}

async function runTrain(args: string[]): Promise<string> {
  const program = new Command().exitOverride()
  registerTrainCommand(program)
  const lines: string[] = []
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => { lines.push(String(line)) })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  await program.parseAsync(['node', 'churn', 'train', ...args])
  return lines.join('\n')
}

describe('churn train', () => {
  it('cross-validates both models on a CSV and prints JSON', async () => {
    const csv = writeCsv('small.csv', 400)
    const report = JSON.parse(await runTrain(['--csv', csv, '--label', 'churned', '--id', 'customer_id', '--folds', '3', '--seed', '7', '--json'])) as {
      rows: number
      folds: number
      seed: number
      encodings: { name: string; kind: string; categories?: string[] }[]
      models: { model: string; folds: unknown[]; summary: Record<string, { mean: number; sd: number }> }[]
    }
    expect(report.rows).toBe(400)
    expect(report.folds).toBe(3)
    expect(report.seed).toBe(7)
    expect(report.encodings.map((encoding) => encoding.name)).toEqual(['plan', 'tenure_months', 'monthly_charges', 'autopay'])
    expect(report.encodings[0]).toEqual({ name: 'plan', kind: 'categorical', categories: ['basic', 'max', 'pro'] })
    expect(report.encodings[1]?.kind).toBe('numeric')
    expect(report.models.map((model) => model.model)).toEqual(['gbdt', 'logistic'])
    for (const model of report.models) {
      expect(model.folds).toHaveLength(3)
      expect(model.summary['rocAuc']?.mean).toBeGreaterThan(0.65)
      expect(model.summary['rocAuc']?.sd).toBeGreaterThanOrEqual(0)
    }
  }, 30_000)

  it('prints a table of mean ± sd per model', async () => {
    const csv = writeCsv('table.csv', 300, (_row, churn) => (churn ? 'true' : 'false'))
    const output = await runTrain(['--csv', csv, '--label', 'churned', '--folds', '2'])
    expect(output).toMatch(/300 rows, 5 features \(3 categorical/u)
    expect(output).toMatch(/^MODEL\s+ROC-AUC\s+PR-AUC/mu)
    expect(output).toMatch(/^gbdt\s+0\.\d{4} ± 0\.\d{4}/mu)
    expect(output).toMatch(/^logistic\s+0\.\d{4} ± 0\.\d{4}/mu)
  }, 30_000)

  it('names the row and value of a label it cannot read', async () => {
    const csv = writeCsv('bad-label.csv', 50, (row, churn) => (row === 7 ? 'maybe' : churn ? 'yes' : 'no'))
    await expect(runTrain(['--csv', csv, '--label', 'churned'])).rejects.toThrow(/row 9 is "maybe"/u)
    await expect(runTrain(['--csv', csv, '--label', 'missing'])).rejects.toThrow(ChurnError)
    await expect(runTrain(['--csv', csv, '--label', 'churned', '--folds', '1'])).rejects.toThrow(/folds/u)
  })
})
