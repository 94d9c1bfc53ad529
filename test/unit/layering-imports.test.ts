import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The layering of src/ (issue #19): the engine, the CLI and ops know kinds only through the kinds
 * table, and the low layers know no kind at all. Read from the import statements of the sources
 * (static, `export … from` and dynamic `import()`, types included), so a new file is covered
 * without a list to keep.
 */
const root = path.resolve(import.meta.dirname, '../..')
const src = path.join(root, 'src')

/** The kinds table and its two halves: how the rest of src/ reaches a kind. */
const TABLE = ['src/kinds/index.ts', 'src/kinds/kind.ts', 'src/kinds/commands.ts']

/**
 * Imports that break a rule and are left for now, each with why. An entry that no longer
 * happens fails the test, so the list only shrinks.
 */
const EXCEPTIONS: ReadonlyArray<{ from: string; to: string; why: string }> = []

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sources(full)
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : []
  })
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every relative import of the file, as a path from the repository root (`src/kinds/index.ts`). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  const out: string[] = []
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2]!
    if (!specifier.startsWith('.')) continue
    out.push(path.relative(root, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, '.ts'))
  }
  return out
}

const edges = sources(src).flatMap((file) => importsOf(file).map((to) => ({ from: path.relative(root, file), to })))

const under = (dir: string) => (p: string) => p.startsWith(`${dir}/`)
/** A file inside a kind's folder (src/kinds/<kind>/…), as opposed to the table. */
const kindInternal = (p: string) => /^src\/kinds\/[^/]+\//.test(p)
const anyKind = (p: string) => p.startsWith('src/kinds/')
const excepted = (e: { from: string; to: string }) => EXCEPTIONS.some((x) => x.from === e.from && x.to === e.to)

function violations(from: (p: string) => boolean, forbidden: (p: string) => boolean): string[] {
  return edges.filter((e) => from(e.from) && forbidden(e.to) && !excepted(e)).map((e) => `${e.from} imports ${e.to}`)
}

describe('layering of src/', () => {
  it('reads the imports it checks (the runner goes through the kinds table)', () => {
    expect(edges).toContainEqual({ from: 'src/engine/runner.ts', to: 'src/kinds/index.ts' })
    expect(edges).toContainEqual({ from: 'src/cli/program.ts', to: 'src/kinds/commands.ts' })
  })

  it('src/engine imports no src/cli, no kind folder (only the kinds table) and no cache', () => {
    expect(violations(under('src/engine'), (p) => under('src/cli')(p) || under('src/cache')(p) || (kindInternal(p) && !TABLE.includes(p)))).toEqual([])
  })

  it('src/cli reaches kinds only through the kinds table; a kind’s own commands live in its folder', () => {
    expect(violations(under('src/cli'), (p) => anyKind(p) && !TABLE.includes(p))).toEqual([])
  })

  it('src/ops and src/cache reach kinds only through the kinds table', () => {
    expect(violations((p) => under('src/ops')(p) || under('src/cache')(p), (p) => anyKind(p) && !TABLE.includes(p))).toEqual([])
  })

  it('src/io, src/db and src/time import no kind, not even the table', () => {
    expect(violations((p) => ['src/io', 'src/db', 'src/time'].some((d) => under(d)(p)), anyKind)).toEqual([])
  })

  it('the engine names no kind: kinds are data of the kinds table', () => {
    // kind names written as string literals in the engine would be a kind switch
    const KIND_NAME = /['"](custom|dimension|fact|rollup|series|prices|table-sync)['"]/
    const named = sources(path.join(src, 'engine'))
      .filter((f) => KIND_NAME.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(root, f))
    expect(named).toEqual([])
  })

  it('lists only exceptions that still happen', () => {
    for (const x of EXCEPTIONS) expect(edges, `${x.from} -> ${x.to} no longer happens: remove it from EXCEPTIONS`).toContainEqual({ from: x.from, to: x.to })
  })
})
