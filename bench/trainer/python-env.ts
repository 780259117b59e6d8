import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { projectRoot } from '../../core/config.js'
import { ChurnError, ErrorCodes } from '../../core/errors.js'

const VENV = resolve(projectRoot, 'bench/.venv')
const PYTHON = resolve(VENV, 'bin/python')
export const REFERENCE_SCRIPT = resolve(projectRoot, 'bench/trainer/lightgbm_reference.py')

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.status !== 0) {
    throw new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `${command} ${args.join(' ')} failed (exit ${String(result.status)})`)
  }
}

/** The Python of bench/.venv with LightGBM 4.x and NumPy from PyPI, created on first use. */
export function lightgbmPython(): string {
  const probe = (): boolean => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import lightgbm, numpy'], { stdio: 'ignore' }).status === 0
  if (!probe()) {
    console.log(`creating ${VENV} with LightGBM and NumPy from PyPI ...`)
    run('python3', ['-m', 'venv', VENV])
    run(PYTHON, ['-m', 'pip', 'install', '--quiet', 'lightgbm>=4,<5', 'numpy'])
  }
  return PYTHON
}

/** Runs a mode of lightgbm_reference.py on a folder of exchange files. */
export function runReference(mode: 'timing' | 'cv', folder: string): void {
  run(lightgbmPython(), [REFERENCE_SCRIPT, mode, folder])
}

export function lightgbmVersion(): string {
  const result = spawnSync(lightgbmPython(), ['-c', 'import lightgbm; print(lightgbm.__version__)'], { encoding: 'utf8' })
  return result.stdout.trim()
}
