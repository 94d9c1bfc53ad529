// Bundles the CLI, the library and the built-in jobs into dist/.
// Dependencies stay external; the heavy ones (pg, PGlite) load only when a command needs them.
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname))
// Small pure-JS dependencies are bundled in: kysely and zod are hundreds of ESM files each, and
// pg and pino dozens of CommonJS ones; resolving those through pnpm's links costs a cron tick
// more start-up than their code (docs/performance.md). Packages with native parts, WASM or
// optional peers stay external: pg's optional native driver and Cloudflare socket load only when
// asked for, and pino's worker-thread transports are never used (log.ts writes to stderr itself).
// pg-copy-streams loads only for a COPY, by a dynamic import whose named exports a bundled
// CommonJS module would not have.
const external = ['pg-native', 'pg-cloudflare', 'pg-copy-streams', '@electric-sql/pglite', 'pino-pretty', 'ioredis', 'undici', 'esbuild', 'cli-progress', 'google-auth-library', 'nightshift']
// bundled CommonJS packages (commander) call require() for node built-ins
const banner = { js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);" }
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', external, banner, sourcemap: true, logLevel: 'warning' }

function listTs(dir) {
  const full = path.join(root, dir)
  if (!existsSync(full)) return []
  let out = []
  for (const name of readdirSync(full, { withFileTypes: true }).map((d) => d.name)) {
    const p = path.join(full, name)
    if (statSync(p).isDirectory()) out = out.concat(listTs(path.join(dir, name)))
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

// The built-in job files go into the bundle: src/engine/builtin-jobs.ts becomes a list of static
// imports of jobs/**/*.ts, loaded as one chunk when a command first needs the registry.
const builtinJobs = {
  name: 'builtin-jobs',
  setup(b) {
    b.onLoad({ filter: /src[\\/]engine[\\/]builtin-jobs\.ts$/ }, () => {
      const files = listTs('jobs')
      const imports = files.map((f, i) => `import job${i} from ${JSON.stringify(f)}`).join('\n')
      const list = files.map((f, i) => `[${JSON.stringify(path.relative(root, f))}, job${i}]`).join(',\n  ')
      return { contents: `${imports}\nexport const BUNDLED_JOBS = [\n  ${list}\n]\n`, loader: 'ts', resolveDir: root }
    })
  },
}

// pg asks at load whether it runs in a Cloudflare Worker; on Node 20, which has no `navigator`,
// it finds out by building a fetch Response, which loads Node's whole fetch stack (~30 ms of a
// cron tick). The CLI runs on Node only: the question is answered at build time.
const pgNodeStreams = {
  name: 'pg-node-streams',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const contents = source.replace('if (isCloudflareRuntime()) {', 'if (false) {')
      if (contents === source) throw new Error(`${args.path}: the Cloudflare check to drop is not there any more; update scripts/build.mjs`)
      return { contents, loader: 'js' }
    })
  },
}

// commander loads child_process at start for executable subcommands, which nightshift has none
// of: 7 ms of a cron tick's built-in modules. Loaded when a subcommand would spawn, if ever.
const commanderLazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const eager = "const childProcess = require('node:child_process');"
      if (!source.includes(eager)) throw new Error(`${args.path}: the child_process require to defer is not there any more; update scripts/build.mjs`)
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };"
      return { contents: source.replace(eager, lazy), loader: 'js' }
    })
  },
}

// pino loads its transports (a worker thread), sonic-boom (its own stdout writer) and
// worker_threads at start; log.ts gives it a sink of its own and never asks for a transport, so
// they load only if one is ever made: worker_threads, assert and two packages less for a cron tick.
const pinoLazyTransports = {
  name: 'pino-lazy-transports',
  setup(b) {
    const swaps = {
      'tools.js': [
        ["const SonicBoom = require('sonic-boom')", "let SonicBoom; const loadSonicBoom = () => (SonicBoom ??= require('sonic-boom'))"],
        ['const stream = new SonicBoom(opts)', 'const stream = new (loadSonicBoom())(opts)'],
        ['opts instanceof SonicBoom ||', '(SonicBoom !== undefined && opts instanceof SonicBoom) ||'],
        ['opts.transport instanceof SonicBoom ||', '(SonicBoom !== undefined && opts.transport instanceof SonicBoom) ||'],
        ["const { isMainThread } = require('worker_threads')", "const isMainThread = () => require('worker_threads').isMainThread"],
        ['if (!opts.sync && isMainThread) {', 'if (!opts.sync && isMainThread()) {'],
        ["const transport = require('./transport')", "const transport = (...args) => require('./transport')(...args)"],
      ],
      'pino.js': [["module.exports.transport = require('./lib/transport')", "module.exports.transport = (...args) => require('./lib/transport')(...args)"]],
    }
    b.onLoad({ filter: /[\\/]pino[\\/](lib[\\/]tools|pino)\.js$/ }, (args) => {
      let contents = readFileSync(args.path, 'utf8')
      for (const [from, to] of swaps[path.basename(args.path)]) {
        if (!contents.includes(from)) throw new Error(`${args.path}: '${from}' is not there any more; update scripts/build.mjs`)
        contents = contents.replace(from, to)
      }
      return { contents, loader: 'js' }
    })
  },
}

// zod's namespace re-exports its 40-odd message locales (360 KB, half the zod a command
// compiles); nightshift speaks English and never asks for another: `z.locales` keeps `en` only.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: 'export { default as en } from "./en.js";\n', loader: 'js' }))
  },
}

rmSync(path.join(root, 'dist'), { recursive: true, force: true })
// The library: ESM, its dynamic imports split into chunks.
await build({
  ...common,
  entryPoints: { index: path.join(root, 'src/index.ts') },
  outdir: path.join(root, 'dist'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [builtinJobs, pgNodeStreams, zodEnglishOnly, commanderLazyChildProcess, pinoLazyTransports],
})
// In the CLI's bundle an import() of a package or a job file is bin/etl.js's own: Node 20 gives
// a function deserialized from a code cache no dynamic import of its own ("A dynamic import
// callback was not specified"). A template (job-loader.ts's hooks, which run in another thread)
// keeps its import().
const importThroughBin = {
  name: 'import-through-bin',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      return { contents: source.replace(/await import\((?!['"]\.|\$\{)/g, 'await __nsImport('), loader: 'ts' }
    })
  },
}

// The CLI: one CommonJS file, which bin/etl.js compiles with vm.Script and a V8 code cache (Node
// 20 caches no ES module's code). Its dynamic imports stay lazy: esbuild runs a module's body on
// first import, so `--help` still loads no engine. import.meta is ESM's; here it is the file's.
await build({
  ...common,
  format: 'cjs',
  entryPoints: { cli: path.join(root, 'src/cli/main.ts') },
  outdir: path.join(root, 'dist'),
  outExtension: { '.js': '.cjs' },
  banner: { js: "const __nsMetaUrl = require('node:url').pathToFileURL(__filename).href; const __nsMetaResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;" },
  define: { 'import.meta.url': '__nsMetaUrl', 'import.meta.resolve': '__nsMetaResolve' },
  plugins: [builtinJobs, pgNodeStreams, zodEnglishOnly, commanderLazyChildProcess, pinoLazyTransports, importThroughBin],
})
// bin/etl.js reads the bundle as latin1: for 2.2 MB that takes 3 ms where UTF-8 takes 9–18 ms, once
// a file holds one non-ASCII character. esbuild escapes every non-ASCII character of the code
// (charset ascii); what is left is in the packages' comments, replaced one UTF-16 unit for one
// so that the source map's columns still hold.
{
  const file = path.join(root, 'dist/cli.cjs')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/[^\x00-\x7f]/g, '?'))
}
{
  const left = readFileSync(path.join(root, 'dist/cli.cjs'), 'utf8').match(/[^\w.$]import\((?!\$\{|\))/g)
  if (left) throw new Error(`dist/cli.cjs: ${left.length} import() the code cache would break; route them through __nsImport (scripts/build.mjs)`)
  if (!readFileSync(path.join(root, 'dist/cli.cjs'), 'utf8').includes('globalThis.__zod_globalConfig')) {
    throw new Error("dist/cli.cjs: zod no longer reads globalThis.__zod_globalConfig, where src/cli/main.ts turns its JIT off; update main.ts")
  }
}
// The bundle's job files are validated here, once: a command then validates only the jobs it
// runs (src/engine/registry.ts). `etl jobs` exits 2 when one is broken, naming it and why.
{
  const { spawnSync } = await import('node:child_process')
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ETL_JOBS_PATH: '' }
  const check = spawnSync(process.execPath, [path.join(root, 'bin/etl.js'), 'jobs', '--json'], { cwd: root, env, encoding: 'utf8' })
  if (check.status !== 0) {
    process.stderr.write(`build: the built-in jobs do not load:\n${check.stderr}`)
    process.exit(1)
  }
}

// An empty embedded database that new ones are copied from (src/db/pglite-template.ts): PGlite's
// initdb peaks near 800 MB of RSS, so it runs once here, not in a user's first `etl demo`. Kept
// outside dist/ (which every build wipes) and keyed by the PGlite version.
// its package.json is not in its exports: found beside the entry point (dist/…)
const pglitePackage = path.resolve(path.dirname(createRequire(path.join(root, 'package.json')).resolve('@electric-sql/pglite')), '../package.json')
const template = path.join(root, '.cache', `pglite-${JSON.parse(readFileSync(pglitePackage, 'utf8')).version}-empty`)
if (!existsSync(path.join(template, 'PG_VERSION'))) {
  const { PGlite } = await import('@electric-sql/pglite')
  const partial = `${template}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(path.dirname(partial), { recursive: true })
  const db = await PGlite.create({ dataDir: partial })
  await db.close()
  renameSync(partial, template)
}
