#!/usr/bin/env node
// Imports the built CLI and nothing else; `pnpm install` builds it (the prepare script).
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write("etl: the CLI is not built; run 'pnpm install' or 'pnpm build' in the nightshift folder\n")
  process.exit(3)
}
await import(cli.href)
