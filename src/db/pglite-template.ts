import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { packageRoot } from '../paths.js'

/*
 * A new embedded database starts as a copy of an empty one made once, at build time
 * (`scripts/build.mjs`), instead of running PGlite's initdb: initdb runs a second in-memory
 * PGlite and the initdb module beside the real one, and peaks near 800 MB of RSS on its own,
 * where opening an existing database costs about 120 MB. Without the template (not built yet,
 * another PGlite version) a new database is made by initdb as before.
 */

const require = createRequire(import.meta.url)

/** The empty data folder for the installed PGlite version; the build writes it, keyed by that version. */
export function pgliteTemplateDir(): string {
  // its package.json is not in its exports: found beside the entry point (dist/…)
  const file = path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '../package.json')
  const { version } = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }
  return path.join(packageRoot, '.cache', `pglite-${version}-empty`)
}

/** Copies the template into `dataDir` when that holds no database yet; false when there is no template. */
export function seedFromTemplate(dataDir: string): boolean {
  // only a folder that is not there or empty: anything else is PGlite's to open or refuse
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) return false
  const template = pgliteTemplateDir()
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) return false
  // a half-made copy must not pass for a database: copy aside, then rename into place
  const partial = `${dataDir}.partial-${process.pid}`
  fs.rmSync(partial, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(dataDir), { recursive: true })
  fs.cpSync(template, partial, { recursive: true })
  fs.rmSync(dataDir, { recursive: true, force: true })
  fs.renameSync(partial, dataDir)
  return true
}

/**
 * PostgreSQL settings for the embedded database. PGlite keeps the server's default of 128 MB of
 * shared buffers, all of it resident once touched, in each of the two databases a command opens;
 * the demo and a day's pipeline fit in far less, and the OS page cache holds the files anyway.
 */
export const PGLITE_SETTINGS = ['-c', 'shared_buffers=8MB', '-c', 'max_connections=4', '-c', 'work_mem=4MB', '-c', 'maintenance_work_mem=16MB']

let compiled: Promise<WebAssembly.Module> | undefined
// the global is there in Node; the project's lib (ES2023, no DOM) only declares its types
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly

/**
 * PGlite's WASM module, compiled once per process: a command opens two embedded databases (source
 * and warehouse), and each compiling its own copy of the 9 MB module costs tens of MB more.
 */
export function pgliteWasmModule(): Promise<WebAssembly.Module> {
  compiled ??= fs.promises
    .readFile(path.join(path.dirname(require.resolve('@electric-sql/pglite')), 'pglite.wasm'))
    .then((bytes) => wasm.compile(bytes))
  return compiled
}
