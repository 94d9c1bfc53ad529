#!/usr/bin/env node
// Imports the built CLI and nothing else; `pnpm install` builds it (the prepare script).
import { existsSync } from 'node:fs'
import module from 'node:module'

// Node 22.1+ keeps the compiled bundle on disk between runs (a cron tick compiles it again
// otherwise); Node 20 has no such cache, and NODE_DISABLE_COMPILE_CACHE=1 turns it off
module.enableCompileCache?.()

const cli = new URL('../dist/cli.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write("etl: the CLI is not built; run 'pnpm install' or 'pnpm build' in the nightshift folder\n")
  process.exit(3)
}
await import(cli.href)
