import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package's root folder, found by walking up from this module: the same answer whether the
 * code runs bundled from `dist/` or as TypeScript from `src/` under vitest.
 */
export const packageRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'migrations'))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error('nightshift: cannot find the package root (no package.json with migrations/ above this module)')
    dir = parent
  }
})()

/** True when running the bundled build rather than the TypeScript sources. */
export const runningFromDist: boolean = fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`)

export const migrationsDir = path.join(packageRoot, 'migrations')

/** Built-in jobs: bundled into dist/ by the build (src/engine/builtin-jobs.ts), read as TypeScript under vitest. */
export const builtinJobsDir = path.join(packageRoot, 'jobs')
