import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RegisteredJob } from '../../src/engine/job.js'
import { loadRegistry, orderByDependencies, validateJob } from '../../src/engine/registry.js'
import { artifactDrift, checkedInArtifacts } from '../../src/ops/artifacts.js'
import { renderCrontab, REGENERATE } from '../../src/ops/crontab.js'
import { cronSlug, planSchedule } from '../../src/ops/schedule.js'
import { errorLines, etl, root } from '../helpers/cli.js'

const job = (name: string, extra: Record<string, unknown> = {}): RegisteredJob =>
  validateJob({ kind: 'custom', name, partition: 'day', async run() {}, ...extra }, `test/${name}.mjs`)

const JOBS = orderByDependencies([
  job('sync_dim_a', { schedule: '0 * * * *', partition: 'none' }),
  job('sync_dim_b', { schedule: '0 * * * *', partition: 'none' }),
  job('build_fact_x', { schedule: '0 2 * * *', dependsOn: ['sync_dim_a'] }),
  job('build_fact_y', { schedule: '0  2 * * *', dependsOn: ['sync_dim_b'] }),
  job('build_fact_late', { schedule: '0 3 * * *' }),
  job('export_at_three', { schedule: '0 3 * * *', pipeline: false }),
  job('prices_close', { kind: 'custom', schedule: '30 16 * * 1-5', timezone: 'America/New_York', partition: 'none', pipeline: false }),
  job('prices_utc_twin', { schedule: '30 16 * * 1-5', partition: 'none', pipeline: false }),
  job('in_run_only'),
  job('by_hand_only', { pipeline: false }),
])

const plan = planSchedule(JOBS, { timezone: 'UTC' })
const entry = (name: string) => plan.entries.find((e) => e.name === name)

describe('schedule plan', () => {
  it('groups jobs sharing a (schedule, zone) into one `etl run --jobs` entry, in dependency order', () => {
    const facts = plan.entries.find((e) => e.jobs.includes('build_fact_x'))!
    expect(facts).toMatchObject({ name: 'build-fact-daily-0200', schedule: '0 2 * * *', timezone: 'UTC', args: ['run', '--jobs', 'build_fact_x,build_fact_y'] })
    expect(entry('sync-dim-hourly')?.args).toEqual(['run', '--jobs', 'sync_dim_a,sync_dim_b'])
  })

  it('runs a job alone on its schedule with `etl run-job --job`', () => {
    expect(entry('prices-close')).toMatchObject({ args: ['run-job', '--job', 'prices_close'], timezone: 'America/New_York' })
    expect(entry('prices-utc-twin')).toMatchObject({ args: ['run-job', '--job', 'prices_utc_twin'], timezone: 'UTC' })
  })

  it('adds the 03:00 full run, which takes over pipeline jobs scheduled at 03:00, and an hourly check', () => {
    expect(entry('run')).toMatchObject({ schedule: '0 3 * * *', args: ['run'], role: 'pipeline' })
    expect(entry('run')!.description).toContain('build_fact_late')
    expect(plan.entries.some((e) => e.jobs.includes('build_fact_late'))).toBe(false)
    // not in `etl run`, so it keeps its own entry
    expect(entry('export-at-three')?.args).toEqual(['run-job', '--job', 'export_at_three'])
    expect(entry('check')).toMatchObject({ args: ['check'], role: 'check' })
  })

  it('runs the weekly and monthly rollups with `etl rollup`, which takes the last complete period; warns about other period jobs run mid-period', () => {
    const rollup = (name: string, partition: 'week' | 'month', aggregate: string, schedule: string): RegisteredJob =>
      ({ ...job(name, { schedule, pipeline: false }), kind: 'rollup', partition, definition: { kind: 'rollup', aggregate } }) as RegisteredJob
    const entries = planSchedule(
      [
        rollup('monthly_rollup', 'month', 'monthly', '0 5 2 * *'),
        rollup('weekly_rollup', 'week', 'weekly', '0 4 * * 1'),
        job('month_report', { partition: 'month', schedule: '0 6 2 * *', pipeline: false }),
        job('month_report_first', { partition: 'month', schedule: '0 6 1 * *', pipeline: false }),
      ],
      { timezone: 'UTC' },
    ).entries
    const of = (name: string) => entries.find((e) => e.jobs.includes(name))!
    expect(of('monthly_rollup').args).toEqual(['rollup', 'monthly'])
    expect(of('weekly_rollup').args).toEqual(['rollup', 'weekly'])
    expect(of('month_report').args).toEqual(['run-job', '--job', 'month_report'])
    expect(of('month_report').description).toMatch(/WARNING: month_report runs for the month holding yesterday/)
    expect(of('month_report_first').description).not.toMatch(/WARNING/)
  })

  it('lists jobs with neither a schedule nor a place in etl run as unscheduled', () => {
    expect(plan.unscheduled).toEqual(['by_hand_only'])
    expect(plan.entries.some((e) => e.jobs.includes('in_run_only'))).toBe(false)
  })

  it('puts UTC entries first, then each other zone', () => {
    const zones = plan.entries.map((e) => e.timezone)
    expect(zones.indexOf('America/New_York')).toBeGreaterThan(zones.lastIndexOf('UTC'))
  })

  it('gives every entry a unique DNS-1123 name short enough for a CronJob (52 characters with etl-)', () => {
    const long = Array.from({ length: 3 }, (_, i) => job(`a_very_long_job_name_that_goes_on_and_on_and_on_variant_${i}`, { schedule: `${i} 4 * * *` }))
    const names = planSchedule([...JOBS, ...long], { timezone: 'UTC' }).entries.map((e) => e.name)
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(`etl-${name}`).toMatch(/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/)
  })

  it.each([
    ['0 * * * *', 'hourly'],
    ['15 * * * *', 'hourly-15'],
    ['*/15 * * * *', 'every-15m'],
    ['* * * * *', 'every-minute'],
    ['0 2 * * *', 'daily-0200'],
    ['30 16 * * 1-5', 'weekdays-1630'],
    ['0 4 * * 1', 'mon-0400'],
    ['0 5 2 * *', 'monthly-2-0500'],
  ])('names the schedule %s %s', (cron, slug) => {
    expect(cronSlug(cron)).toBe(slug)
  })
})

describe('crontab', () => {
  const text = renderCrontab(plan, { home: '/srv/nightshift', logDir: '/var/log/ns', timezone: 'UTC' })
  const commands = text.split('\n').filter((l) => /^[\d*]/.test(l))

  it('uses absolute paths through ETL_HOME, logs each entry to its own file, and never flock', () => {
    expect(text).toMatch(/^ETL_HOME=\/srv\/nightshift$/m)
    expect(text).toMatch(/^ETL_LOG_DIR=\/var\/log\/ns$/m)
    expect(commands.length).toBe(plan.entries.length)
    for (const line of commands) {
      expect(line).toContain('node "$ETL_HOME/bin/etl.js" ')
      expect(line).toMatch(/"\$ETL_LOG_DIR\/[a-z0-9-]+\.log" 2>&1/)
    }
    expect(commands.join('\n')).not.toMatch(/flock/)
  })

  it('has the 03:00 full run and the fact group at 02:00', () => {
    expect(commands).toContain('0 3 * * * node "$ETL_HOME/bin/etl.js" run >> "$ETL_LOG_DIR/run.log" 2>&1')
    expect(commands).toContain('0 2 * * * node "$ETL_HOME/bin/etl.js" run --jobs build_fact_x,build_fact_y >> "$ETL_LOG_DIR/build-fact-daily-0200.log" 2>&1')
  })

  it('precedes the entries of each zone with a CRON_TZ line', () => {
    const lines = text.split('\n')
    const ny = lines.indexOf('CRON_TZ=America/New_York')
    expect(lines.indexOf('CRON_TZ=UTC')).toBeGreaterThan(-1)
    expect(ny).toBeGreaterThan(lines.indexOf('CRON_TZ=UTC'))
    expect(lines.slice(ny).join('\n')).toContain('run-job --job prices_close')
    expect(lines.slice(0, ny).join('\n')).not.toContain('run-job --job prices_close')
  })

  it('prints the check’s output (for cron mail) only when it exits non-zero', () => {
    expect(commands.find((l) => l.includes(' check '))).toBe('45 * * * * node "$ETL_HOME/bin/etl.js" check > "$ETL_LOG_DIR/check.log" 2>&1 || cat "$ETL_LOG_DIR/check.log"')
  })
})

describe('checked-in scheduling files', () => {
  it('crontab.example and k8s/ are exactly what `etl schedule` makes of the registry', async () => {
    const registry = await loadRegistry([path.join(root, 'jobs')])
    const drift = artifactDrift(root, checkedInArtifacts(registry.jobs))
    expect(drift, `the scheduling files are out of step with the job registry (${drift.join('; ')}); regenerate them with: ${REGENERATE}`).toEqual([])
  })
})

describe('etl schedule as a subprocess', () => {
  const builtinOnly = { ETL_JOBS_PATH: '' }

  it('prints the same crontab and writes the same manifests as the library renders', async () => {
    const artifacts = checkedInArtifacts((await loadRegistry([path.join(root, 'jobs')])).jobs)
    const crontab = await etl(['schedule', '--format', 'crontab'], builtinOnly)
    expect(crontab.code, crontab.stderr).toBe(0)
    expect(crontab.stdout).toBe(artifacts.crontab)

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-k8s-'))
    try {
      fs.writeFileSync(path.join(out, 'cronjob-gone.yaml'), fs.readFileSync(path.join(root, 'k8s/configmap.yaml')))
      fs.writeFileSync(path.join(out, 'mine.yaml'), 'kind: ConfigMap\n')
      const k8s = await etl(['schedule', '--format', 'k8s', '--out', out], builtinOnly)
      expect(k8s.code, k8s.stderr).toBe(0)
      for (const f of artifacts.k8s) expect(fs.readFileSync(path.join(out, f.file), 'utf8')).toBe(f.text)
      expect(fs.existsSync(path.join(out, 'cronjob-gone.yaml'))).toBe(false) // stale generated file removed
      expect(fs.existsSync(path.join(out, 'mine.yaml'))).toBe(true) // hand-written file kept
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }

    const stream = await etl(['schedule', '--format', 'k8s'], builtinOnly)
    expect(stream.stdout.split(/^---$/m)).toHaveLength(artifacts.k8s.length)
  })

  it('includes the jobs of ETL_JOBS_PATH', async () => {
    const result = await etl(['schedule', '--format', 'crontab'])
    expect(result.stdout).toMatch(/^0 2 \* \* \* .* run(-job)? --jobs? \S*fx_write/m)
  })

  it.each([
    ['without --format', ['schedule'], /--format crontab/],
    ['an unknown --format', ['schedule', '--format', 'xml'], /'xml' is invalid. Allowed choices are crontab, k8s/],
    ['--write with --format', ['schedule', '--write', '--format', 'k8s'], /--write regenerates both/],
  ])('refuses %s with exit 2 and one line', async (_what, args, message) => {
    const result = await etl(args)
    expect(result.code).toBe(2)
    expect(errorLines(result.stderr)).toHaveLength(1)
    expect(errorLines(result.stderr)[0]).toMatch(message)
  })
})
