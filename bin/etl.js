#!/usr/bin/env node
// Runs the built CLI (dist/cli.cjs, one CommonJS bundle) with a V8 code cache kept beside it, so a
// cron tick does not parse and compile the same 2 MB of JavaScript again (docs/performance.md).
// Node 20 has no compile cache of its own (module.enableCompileCache is 22.1+, and covers no vm
// script anyway): the cache is V8's, through vm.Script's cachedData. One file per command, since
// V8 keeps the functions a run compiled: dist/.v8-cache/<command>-<V8 version>-<build>.bin, written after
// a run that exited 0 found none (or V8 rejected it), through a rename, so a concurrent run reads
// a whole file or none. The build wipes dist/, caches with it. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist')
const cli = path.join(dist, 'cli.cjs')
let source
try {
  // ASCII (scripts/build.mjs makes it so): latin1 reads it as UTF-8 would, 3-5x faster
  source = fs.readFileSync(cli, 'latin1')
} catch {
  process.stderr.write("etl: the CLI is not built; run 'pnpm install' or 'pnpm build' in the nightshift folder\n")
  process.exit(3)
}

// A command is short-lived: the embedded database's WASM stays on V8's baseline compiler
// (Liftoff). V8's optimising tier-up (TurboFan, on background threads) held about 100 MB more at
// a small demo's peak for no gain in CPU time; a medium demo, CPU-bound for a minute, needs about
// 9 % more CPU without it (docs/performance.md). Library users and in-process tests keep V8's
// default. Set here, before the bundle compiles: V8 rejects a code cache made under other flags.
v8.setFlagsFromString('--liftoff-only')

const argv = process.argv
const command = /^[a-z][a-z0-9-]{0,40}$/.test(argv[2] ?? '') ? argv[2] : 'other'
const help = argv.slice(2).some((a) => a === '--help' || a === '-h' || a === 'help')
const useCache = process.env.NODE_DISABLE_COMPILE_CACHE !== '1'
// V8 checks a cache against its source's length only, so the name holds the bundle's size and
// mtime as well: a cache is never fed to another build, even one that kept dist/.v8-cache
const built = fs.statSync(cli)
const cacheDir = path.join(dist, '.v8-cache')
const cacheFile = path.join(cacheDir, `${command}-${process.versions.v8}-${built.size}-${Math.trunc(built.mtimeMs)}.bin`)
let cachedData
if (useCache) {
  try {
    cachedData = fs.readFileSync(cacheFile)
  } catch {
    // none yet
  }
}
// CommonJS's wrapper, and __nsImport: the bundle's import() of a package (PGlite, pg-copy-streams)
// or of a job file is this module's, since Node 20 gives code from a cache none (scripts/build.mjs)
const wrapped = `(function (exports, require, module, __filename, __dirname, __nsImport) {${source}\n})`
const script = new vm.Script(wrapped, { filename: cli, cachedData })
const cjs = { exports: {} }
script.runInThisContext()(cjs.exports, createRequire(cli), cjs, cli, dist, (specifier) => import(specifier))
const code = await cjs.exports.run(argv)
// a --help or a failed run compiled little of what the command's runs need: it writes no cache
if (useCache && code === 0 && !help && (cachedData === undefined || script.cachedDataRejected)) {
  try {
    fs.mkdirSync(cacheDir, { recursive: true })
    const partial = `${cacheFile}.${process.pid}`
    fs.writeFileSync(partial, script.createCachedData())
    fs.renameSync(partial, cacheFile)
    // the command's caches of other builds or Node versions are of no more use
    for (const old of fs.readdirSync(cacheDir)) {
      if (old.startsWith(`${command}-`) && old.endsWith('.bin') && path.join(cacheDir, old) !== cacheFile) fs.rmSync(path.join(cacheDir, old), { force: true })
    }
  } catch {
    // a read-only install runs without the cache
  }
}
process.exit(code)
