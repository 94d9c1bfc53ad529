import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { loadRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { runMetric } from '../../src/kinds/rollup/custom/execute.js'
import { parseDefinition } from '../../src/kinds/rollup/custom/definition.js'
import { defineMetric, sourceColumns } from '../../src/kinds/rollup/custom/store.js'
import { builtinJobsDir } from '../../src/paths.js'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-metric-'))
const file = (name: string, body: unknown) => {
  const p = path.join(dir, name)
  fs.writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body))
  return p
}
const minutes = { name: 'minutes', metricType: 'SUM', dataSource: 'daily_metrics', calculationFormula: 'session_minutes', dimensions: ['tenant_id'], visibility: 'TEAM' }

beforeAll(async () => {
  tw = await createTestWarehouse()
  const db = await tw.open()
  await db.exec(`insert into daily_metrics (tenant_id, date_key, metric_date, sessions, session_minutes) values
    (1, 20250110, '2025-01-10', 2, 30), (1, 20250111, '2025-01-11', 1, 15), (2, 20250110, '2025-01-10', 4, 60)`)
  await db.close()
})

afterAll(async () => {
  await tw?.drop()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('custom metrics', () => {
  it('versions a redefinition with a change, keeps the old one, and leaves an identical one alone', async () => {
    const first = await etl(['metric', 'define', '--file', file('m1.json', minutes)], tw.env)
    expect(first.stdout.trim(), first.stderr).toBe('defined minutes version 1')
    expect((await etl(['metric', 'define', '--file', file('m1.json', minutes)], tw.env)).stdout.trim()).toBe('minutes is unchanged (version 1)')
    const changed = await etl(['metric', 'define', '--file', file('m2.json', { ...minutes, calculationFormula: 'session_minutes * 60' })], tw.env)
    expect(changed.stdout.trim()).toBe('defined minutes version 2')
    const list = await etl(['metric', 'list', '--json'], tw.env)
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'minutes', version: 2, calculationFormula: 'session_minutes * 60' })])
    const calc = await etl(['metric', 'calc', '--name', 'minutes', '--from', '2025-01-10', '--to', '2025-01-11', '--json'], tw.env)
    expect(calc.code, calc.stderr).toBe(0)
    expect(JSON.parse(calc.stdout)).toEqual({
      name: 'minutes', version: 2, from: '2025-01-10', to: '2025-01-11',
      rows: [{ dimensions: { tenant_id: 1 }, value: 2700 }, { dimensions: { tenant_id: 2 }, value: 3600 }],
    })
    const tested = await etl(['metric', 'test', '--file', file('m1.json', minutes), '--from', '2025-01-10', '--to', '2025-01-10'], tw.env)
    expect(tested.code).toBe(0)
    expect(tested.stdout).toMatch(/cost class low/)
  })

  it('computes every active definition per day in calc_custom_metrics, recording the version; a broken one is PARTIAL', async () => {
    const db = await tw.open()
    try {
      await defineMetric(db.db, parseDefinition({ name: 'sessions_n', metricType: 'SUM', dataSource: 'daily_metrics', calculationFormula: 'sessions', visibility: 'PUBLIC' }))
      // a definition whose column disappeared since it was defined
      await sql`insert into custom_metric_definitions (name, version, metric_type, data_source, definition, visibility)
        values ('broken', 1, 'SUM', 'daily_metrics', ${JSON.stringify({ name: 'broken', metricType: 'SUM', dataSource: 'daily_metrics', calculationFormula: 'gone_column', visibility: 'TEAM' })}::jsonb, 'TEAM')`.execute(db.db)
      const job = (await loadRegistry([builtinJobsDir])).get('calc_custom_metrics')
      const outcome = await runJob(runEnvFor(db, loadConfig(tw.env)), { job, date: '2025-01-10' })
      expect(outcome.status).toBe('PARTIAL')
      expect(outcome.message).toMatch(/metric broken v1 .*'gone_column' is not a column of daily_metrics/)
      const { rows } = await sql<{ name: string; version: number; dimension_key: string; value: string }>`
        select name, version, dimension_key, value from custom_metric_values order by name, dimension_key`.execute(db.db)
      expect(rows.map((r) => [r.name, r.version, r.dimension_key, Number(r.value)])).toEqual([
        ['minutes', 2, '{"tenant_id": 1}', 1800],
        ['minutes', 2, '{"tenant_id": 2}', 3600],
        ['sessions_n', 1, '{}', 6],
      ])
    } finally {
      await db.close()
    }
  })

  it('runs a metric read-only under a statement_timeout and reports its EXPLAIN cost class', async () => {
    const db = await tw.open()
    try {
      const def = parseDefinition(minutes)
      const columns = await sourceColumns(db.db, 'daily_metrics')
      const cheap = await runMetric(db.db, def, columns, { from: '2025-01-01', to: '2025-01-31' }, { timeoutMs: 5000, allowExpensive: false })
      expect(cheap.costClass).toBe('low')
      expect(cheap.rows).toHaveLength(2)
    } finally {
      await db.close()
    }
  })

  describe('bad input: exit 2, one line', () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      ['an unknown action', () => ['metric', 'drop'], /unknown metric action 'drop'/],
      ['define without --file', () => ['metric', 'define'], /needs --file/],
      ['a missing file', () => ['metric', 'define', '--file', path.join(dir, 'nope.json')], /cannot be read: ENOENT/],
      ['a file that is not JSON', () => ['metric', 'define', '--file', file('bad.json', '{name: ')], /is not JSON/],
      ['pg_sleep in the formula', () => ['metric', 'define', '--file', file('sleep.json', { ...minutes, calculationFormula: 'pg_sleep(10)' })], /function call 'pg_sleep\('/],
      ['a sub-select', () => ['metric', 'define', '--file', file('sub.json', { ...minutes, calculationFormula: '(select 1)' })], /calculationFormula/],
      ['a ; in the formula', () => ['metric', 'define', '--file', file('semi.json', { ...minutes, calculationFormula: 'sessions; drop table daily_metrics' })], /';' at position 9/],
      ['another schema as source', () => ['metric', 'define', '--file', file('schema.json', { ...minutes, dataSource: 'pg_catalog.pg_authid' })], /field 'dataSource'/],
      ['an unknown column', () => ['metric', 'define', '--file', file('col.json', { ...minutes, calculationFormula: 'password' })], /'password' is not a column of daily_metrics/],
      ['an unknown key', () => ['metric', 'define', '--file', file('key.json', { ...minutes, raw: 'select 1' })], /raw/],
      ['an unknown metric type', () => ['metric', 'define', '--file', file('type.json', { ...minutes, metricType: 'MEDIAN' })], /field 'metricType'/],
      ['a bad visibility', () => ['metric', 'define', '--file', file('vis.json', { ...minutes, visibility: 'EVERYONE' })], /field 'visibility'/],
      ['test without a range', () => ['metric', 'test', '--file', file('m1.json', minutes)], /needs --from D1 --to D2/],
      ['a reversed range', () => ['metric', 'calc', '--name', 'minutes', '--from', '2025-02-01', '--to', '2025-01-01'], /--from 2025-02-01 is after --to 2025-01-01/],
      ['a bad date', () => ['metric', 'calc', '--name', 'minutes', '--from', '2025-02-30', '--to', '2025-03-01'], /--from '2025-02-30' is not a calendar day/],
      ['calc of an unknown name', () => ['metric', 'calc', '--name', 'nope', '--from', '2025-01-01', '--to', '2025-01-02'], /--name 'nope' is not a defined metric/],
      ['calc without --name', () => ['metric', 'calc', '--from', '2025-01-01', '--to', '2025-01-02'], /needs --name/],
    ]
    for (const [what, args, message] of cases) {
      it(`refuses ${what}`, async () => {
        const result = await etl(args(), tw.env)
        expect(result.code, result.stderr).toBe(2)
        const lines = errorLines(result.stderr)
        expect(lines, result.stderr).toHaveLength(1)
        expect(lines[0]).toMatch(/^etl: /)
        expect(lines[0]).toMatch(message)
      })
    }
  })
})
