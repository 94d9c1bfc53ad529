import { describe, expect, it } from 'vitest'
import { JobRegistry, validateJob } from '../../src/engine/registry.js'
import { JOB_KINDS, KINDS } from '../../src/kinds/index.js'
import { KIND_COMMANDS } from '../../src/kinds/commands.js'
import { priceJob } from '../../src/kinds/prices/actions.js'
import { rollupJob } from '../../src/kinds/rollup/actions.js'
import { seriesJob } from '../../src/kinds/series/actions.js'
import { thrown } from '../helpers/errors.js'

const rollup = (name: string, fields: Record<string, unknown>) => validateJob({ kind: 'rollup', ...fields }, `/jobs/rollup/${name}.ts`)
const prices = (name: string, fields: Record<string, unknown>) => validateJob({ kind: 'prices', ...fields }, `/jobs/prices/${name}.ts`)
const series = (name: string) => validateJob({ kind: 'series' }, `/jobs/series/${name}.ts`)

describe('the kinds table', () => {
  it('is where the kind names come from, and every kind command belongs to a kind of the table', () => {
    expect(JOB_KINDS).toEqual(Object.keys(KINDS))
    for (const kind of Object.keys(KIND_COMMANDS)) expect(JOB_KINDS).toContain(kind)
  })

  it('rejects a kind that is not in the table, suggesting the nearest (exit 2)', () => {
    const near = thrown(() => validateJob({ kind: 'rolup', aggregate: 'daily' }, '/jobs/x.ts'))
    expect(near.code).toBe('BAD_JOB_FILE')
    expect(near.message).toBe("/jobs/x.ts: field 'kind' is 'rolup', not a kind of job; did you mean 'rollup'?")
    const far = thrown(() => validateJob({ kind: 'zzzzzz' }, '/jobs/x.ts'))
    expect(far.message).toBe(`/jobs/x.ts: field 'kind' is 'zzzzzz', not a kind of job (kinds: ${JOB_KINDS.join(', ')})`)
  })

  it('wants a weekly or monthly rollup to name the daily job that makes its periods complete', () => {
    const error = thrown(() => rollup('aggregate_weekly_metrics', { aggregate: 'weekly', partition: 'week' }))
    expect(error.code).toBe('BAD_JOB_FILE')
    expect(error.message).toBe("/jobs/rollup/aggregate_weekly_metrics.ts: field 'dailyJob' must name the daily rollup job whose SUCCESS days make a week complete")
  })

  it('refuses a price job whose command is not an etl prices command', () => {
    expect(thrown(() => prices('p', { bars: 'daily', command: 'weekly' })).message).toMatch(/^\/jobs\/prices\/p\.ts: field 'command' /)
  })
})

describe("the job a kind's command runs, found by a field, not by name", () => {
  const weekly = rollup('my_weekly', { aggregate: 'weekly', partition: 'week', dailyJob: 'my_daily' })
  const daily = rollup('my_daily', { aggregate: 'daily' })

  it('etl rollup: the rollup job of the grain', () => {
    expect(rollupJob(new JobRegistry([daily, weekly]), 'weekly').name).toBe('my_weekly')
    const none = thrown(() => rollupJob(new JobRegistry([daily, weekly]), 'monthly'))
    expect(none.code).toBe('UNKNOWN_JOB')
    expect(none.message).toBe("no rollup job with aggregate 'monthly'; add one under jobs/ or a folder of ETL_JOBS_PATH")
    const twice = thrown(() => rollupJob(new JobRegistry([daily, weekly, rollup('other_weekly', { aggregate: 'weekly', partition: 'week', dailyJob: 'my_daily' })]), 'weekly'))
    expect(twice.code).toBe('USAGE')
    expect(twice.message).toMatch(/there are 2 \(my_weekly, other_weekly\)/)
  })

  it('etl prices: the price job whose command field names it', () => {
    const registry = new JobRegistry([prices('daily_bars', { bars: 'daily', command: 'historical' }), prices('max_bars', { bars: 'daily', range: 'MAX' })])
    expect(priceJob(registry, 'historical').name).toBe('daily_bars')
    expect(thrown(() => priceJob(registry, 'latest')).message).toBe("no price job says command: 'latest'; add one under jobs/ or a folder of ETL_JOBS_PATH")
    const twice = new JobRegistry([prices('a', { command: 'hourly' }), prices('b', { command: 'hourly' })])
    expect(thrown(() => priceJob(twice, 'hourly')).code).toBe('BAD_JOB_FILE')
  })

  it('etl series: the one series job', () => {
    expect(seriesJob(new JobRegistry([daily, series('tenant_series')])).name).toBe('tenant_series')
    expect(thrown(() => seriesJob(new JobRegistry([daily]))).code).toBe('UNKNOWN_JOB')
    expect(thrown(() => seriesJob(new JobRegistry([series('a'), series('b')]))).code).toBe('USAGE')
  })
})
