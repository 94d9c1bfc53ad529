import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/paths.js'

const SRC = path.join(packageRoot, 'src')

/**
 * The files of src/ that may read the environment besides src/config.ts, each with why:
 * - src/redact.ts masks the value of every secret variable in the environment, also while a bad
 *   value is what stops loadConfig (whose error it redacts) and for variables config.ts never reads
 *   (TEST_DATABASE_URL, PGPASSWORD).
 */
const ALLOWED = new Map([['redact.ts', 1]])

// process.env, process['env'], a destructured `{ env } = process`, and what tests leak in
const ENV_READ = /process\s*(\.|\?\.)\s*env\b|process\s*\[\s*['"`]env['"`]\s*\]|\{[^}]*\benv\b[^}]*\}\s*=\s*process\b|\bVITEST\b|import\.meta\.env/g

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    return e.isDirectory() ? sourceFiles(full) : /\.[cm]?ts$/.test(e.name) ? [full] : []
  })
}

describe('configuration', () => {
  it('is read from the environment in src/config.ts only (exceptions listed above, with why), and src/ knows nothing of tests', () => {
    const reads: string[] = []
    for (const file of sourceFiles(SRC)) {
      const rel = path.relative(SRC, file)
      if (rel === 'config.ts') continue
      const found = fs.readFileSync(file, 'utf8').match(ENV_READ)?.length ?? 0
      if (found !== (ALLOWED.get(rel) ?? 0)) reads.push(`${rel}: ${found} read(s) of the environment`)
    }
    expect(reads).toEqual([])
  })

  it('finds the files it searches', () => {
    expect(sourceFiles(SRC).map((f) => path.relative(SRC, f))).toEqual(expect.arrayContaining(['config.ts', 'redact.ts', 'cli/main.ts', 'log.ts']))
  })
})
