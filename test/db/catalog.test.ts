import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, etl, root } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { etlPty } from '../helpers/pty.js'

// `etl docs` (SPEC §1, issue #22): the checked-in docs/catalog.md is what `etl docs` prints for
// the warehouse `etl demo` makes, on either database, so CI proves the page matches the code.
// Only the built-in jobs: the fixture jobs the CLI tests load elsewhere would add their tables.

let tw: TestWarehouse
let source: TestWarehouse | undefined
let env: Record<string, string>
let dir: string

beforeAll(async () => {
  tw = await createTestWarehouse({ migrate: false })
  // on a server the source gets a database of its own, as on PGlite, so its tables are not the warehouse's
  if (tw.kind === 'postgres') source = await createTestWarehouse({ migrate: false })
  env = { ...tw.env, ...(source ? { OLTP_DATABASE_URL: source.env.WAREHOUSE_DATABASE_URL! } : {}), ETL_JOBS_PATH: '' }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-catalog-'))
  const demo = await etl(['demo', '--days', '1'], env)
  expect(demo.code, demo.stderr).toBe(0)
})

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true })
  await source?.drop()
  await tw?.drop()
})

describe('etl docs', () => {
  it('writes the catalog docs/catalog.md holds, after etl demo (regenerate with the command in docs/dimensions-and-facts.md)', async () => {
    const out = path.join(dir, 'catalog.md')
    const r = await etl(['docs', '--out', out], env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^wrote the catalog of \d+ tables to /)
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(path.join(root, 'docs/catalog.md'), 'utf8'))
  })

  it('names the job that writes each table, the partitioning, the retention and the column comments', async () => {
    const r = await etl(['docs', '--out', '-'], env)
    expect(r.code, r.stderr).toBe(0)
    const text = r.stdout
    expect(text).toMatch(/^# Warehouse catalog/)
    expect(text).toContain('| [fact_sessions](#fact_sessions) | partitioned table | build_fact_sessions | range (date_key), partitions of 1 day | kept for ever |')
    expect(text).toContain('| [dim_tenant](#dim_tenant) | table | sync_dim_tenant |')
    expect(text).toMatch(/\| \[weekly_metrics\]\(#weekly_metrics\) \| table \| aggregate_weekly_metrics \|/)
    expect(text).toMatch(/\| date_key \| integer \| no \| PK → dim_date\.date_key \| the day \(YYYYMMDD in ETL_TIMEZONE\); references dim_date \|/)
    expect(text).toContain('## analytics_company_{id}.metrics_time_series')
    expect(text).not.toMatch(/_p20\d{6}/) // no partitions: their number grows every day
  })

  it('without --out is a usage error: one line, exit 2, nothing written', async () => {
    const r = await etl(['docs'], env)
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toEqual(["etl: say where the catalog goes: 'etl docs --out docs/catalog.md' (or '--out -' to print it)"])
  })

  it('into a folder that does not exist is an environment error: exit 3, one line naming the folder', async () => {
    const missing = path.join(dir, 'no-such-folder', 'catalog.md')
    const r = await etl(['docs', '--out', missing], env)
    expect(r.code).toBe(3)
    expect(errorLines(r.stderr)).toEqual([`etl: --out ${missing}: the folder ${path.dirname(missing)} does not exist; create it or choose another path`])
    expect(fs.existsSync(path.dirname(missing))).toBe(false)
  })

  it('says what it wrote at a terminal, and the usage error there too', async () => {
    const out = path.join(dir, 'tty.md')
    const ok = await etlPty(['docs', '--out', out], env)
    expect(ok.code).toBe(0)
    expect(ok.lines).toContain(`wrote the catalog of ${fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('## ')).length} tables to ${out}`)
    const bad = await etlPty(['docs'], env)
    expect(bad.code).toBe(2)
    expect(bad.text).toContain("say where the catalog goes: 'etl docs --out docs/catalog.md'")
  })
})
