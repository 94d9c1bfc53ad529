import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LEDGER_TABLE } from '../../src/engine/ledger/table.js'

const root = path.resolve(import.meta.dirname, '../..')
const LEDGER_MODULE = 'src/engine/ledger/'

/** Every file under the folders, as paths relative to the repository root with `/`. */
function filesUnder(...folders: string[]): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(rel)
      else out.push(rel)
    }
  }
  for (const folder of folders) walk(folder)
  return out
}

/** `file:line: text` of each line of the files that matches. */
function linesMatching(files: string[], test: (line: string) => boolean): string[] {
  return files.flatMap((file) =>
    fs
      .readFileSync(path.join(root, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  )
}

const isMigration = (file: string) => /(^|\/)migrations\//.test(file)

describe('the ledger is one module', () => {
  it('scans the tree it guards (the ledger module itself names the table)', () => {
    const files = filesUnder('src', 'jobs')
    expect(files.length).toBeGreaterThan(50)
    expect(linesMatching(files.filter((f) => f.startsWith(LEDGER_MODULE)), (l) => l.includes(LEDGER_TABLE)).length).toBeGreaterThan(0)
  })

  it(`no file in src/ or jobs/ outside ${LEDGER_MODULE} (and migrations) names ${LEDGER_TABLE}`, () => {
    const files = filesUnder('src', 'jobs').filter((f) => !f.startsWith(LEDGER_MODULE) && !isMigration(f))
    // SQL, a kysely table name, a comment or help text alike: help text takes LEDGER_TABLE
    expect(linesMatching(files, (l) => l.includes(LEDGER_TABLE))).toEqual([])
  })

  it('kinds and job files read the ledger only through ctx.ledger, never by importing the module', () => {
    const files = filesUnder('src/kinds', 'jobs')
    expect(linesMatching(files, (l) => /from\s+['"][^'"]*engine\/ledger\//.test(l))).toEqual([])
  })
})
