import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EtlError } from '../../src/errors.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { fieldPath, JobCommonSchema } from '../../src/engine/job-schema.js'
import { JobRegistry, loadRegistry, orderByDependencies, validateJob } from '../../src/engine/registry.js'
import { thrown } from '../helpers/errors.js'

const run = async () => ({})


/** A validated custom job named after its file, with the given extra fields. */
function job(name: string, fields: Record<string, unknown> = {}): RegisteredJob {
  return validateJob({ kind: 'custom', run, ...fields }, `/jobs/custom/${name}.mjs`)
}

const names = (jobs: readonly RegisteredJob[]) => jobs.map((j) => j.name)

/** The error of the first job a folder leaves out: a broken file no longer fails the whole load. */
async function brokenError(dirs: string[]): Promise<unknown> {
  const registry = await loadRegistry(dirs)
  expect(registry.broken.length, 'a job should be left out').toBeGreaterThan(0)
  return registry.broken[0]!.error
}

describe('validateJob', () => {
  it('takes the name of a custom job from its file name and fills the defaults', () => {
    const registered = validateJob({ kind: 'custom', run }, '/jobs/custom/refresh_totals.mjs')
    expect(registered).toMatchObject({
      name: 'refresh_totals',
      kind: 'custom',
      file: '/jobs/custom/refresh_totals.mjs',
      partition: 'day',
      pipeline: true,
      schedule: undefined,
      timezone: 'UTC',
      dependsOn: [],
    })
    expect(Object.isFrozen(registered)).toBe(true)
  })

  it('strips .ts and .js extensions from the file name too', () => {
    expect(validateJob({ kind: 'custom', run }, '/jobs/a_job.ts').name).toBe('a_job')
    expect(validateJob({ kind: 'custom', run }, '/jobs/b_job.js').name).toBe('b_job')
  })

  it('prefers an explicit name field over the file name', () => {
    expect(validateJob({ kind: 'custom', name: 'explicit_name', run }, '/jobs/file_name.mjs').name).toBe('explicit_name')
  })

  it('keeps the fields the file sets', () => {
    const registered = job('nightly', {
      schedule: '30 2 * * 1-5',
      timezone: 'America/New_York',
      dependsOn: ['upstream'],
      partition: 'week',
      description: 'weekly totals',
    })
    expect(registered).toMatchObject({
      schedule: '30 2 * * 1-5',
      timezone: 'America/New_York',
      dependsOn: ['upstream'],
      partition: 'week',
      description: 'weekly totals',
    })
  })

  it('leaves a custom job out of the pipeline by default when partitioned by week or month', () => {
    expect(job('weekly', { partition: 'week' }).pipeline).toBe(false)
    expect(job('monthly', { partition: 'month' }).pipeline).toBe(false)
    expect(job('unpartitioned', { partition: 'none' }).pipeline).toBe(true)
  })

  it('honours an explicit pipeline flag over the default', () => {
    expect(job('opt_out', { pipeline: false }).pipeline).toBe(false)
    expect(job('opt_in', { partition: 'month', pipeline: true }).pipeline).toBe(true)
  })

  it('defaults partition and pipeline by kind: fact by day, dimension none, both in the pipeline', () => {
    const fact = { kind: 'fact', source: { table: 'public.x', timeColumn: 'at' }, target: 'fact_x', select: 'select * from {{staging}}' }
    expect(validateJob(fact, '/jobs/fact/build_fact_x.mjs')).toMatchObject({ partition: 'day', pipeline: true })
    const dimension = { kind: 'dimension', source: { table: 'public.x' }, businessKey: ['id'], strategy: { type: 'check', columns: 'all' }, target: 'dim_x' }
    expect(validateJob(dimension, '/jobs/dim/sync_dim_x.mjs')).toMatchObject({ partition: 'none', pipeline: true })
  })

  it('names the dimension field that is wrong', () => {
    expect(() => validateJob({ kind: 'dimension', source: { table: 'x' }, businessKey: [], strategy: { type: 'check', columns: 'all' }, target: 'dim_x' }, '/jobs/sync_dim_x.mjs')).toThrow(
      /sync_dim_x\.mjs: field 'businessKey'/,
    )
    expect(() => validateJob({ kind: 'dimension', source: { table: 'x' }, businessKey: ['id'], strategy: { type: 'hash' }, target: 'dim_x' }, '/jobs/sync_dim_x.mjs')).toThrow(
      /field 'strategy/,
    )
  })

  it.each([
    ['kind', { kind: 'bogus', run }],
    ['kind', { run }],
    ['schedule', { kind: 'custom', run, schedule: 'every day' }],
    ['schedule', { kind: 'custom', run, schedule: '0 2 * *' }],
    ['timezone', { kind: 'custom', run, timezone: 'Mars/Olympus_Mons' }],
    ['run', { kind: 'custom', run: 'not a function' }],
    ['run', { kind: 'custom' }],
    ['dependsOn', { kind: 'custom', run, dependsOn: 'upstream' }],
    ['dependsOn[1]', { kind: 'custom', run, dependsOn: ['upstream', 'Not-A-Name'] }],
    ['partition', { kind: 'custom', run, partition: 'hour' }],
    ['pipeline', { kind: 'custom', run, pipeline: 'yes' }],
    ['name', { kind: 'custom', run, name: 'CamelCase' }],
  ])("rejects a bad field '%s' as BAD_JOB_FILE naming the file and the field", (field, exported) => {
    const file = '/jobs/custom/broken_job.mjs'
    const error = thrown(() => validateJob(exported, file))
    expect(error.code).toBe('BAD_JOB_FILE')
    expect(error.exitCode).toBe(2)
    expect(error.message).toContain(file)
    expect(error.message).toContain(`field '${field}'`)
  })

  it('says what a bad schedule should look like', () => {
    const error = thrown(() => validateJob({ kind: 'custom', run, schedule: 'every day' }, '/jobs/x.mjs'))
    expect(error.message).toBe(`/jobs/x.mjs: field 'schedule' must be a five-field cron expression such as "0 2 * * *"`)
  })

  it.each([null, 42, 'custom', run])('rejects a default export that is not an object (%s)', (exported) => {
    const error = thrown(() => validateJob(exported, '/jobs/x.mjs'))
    expect(error.code).toBe('BAD_JOB_FILE')
    expect(error.message).toBe('/jobs/x.mjs: the default export must be an object describing the job')
  })

  it('rejects a file name that is not a job name when there is no name field', () => {
    const error = thrown(() => validateJob({ kind: 'custom', run }, '/jobs/Refresh-Totals.mjs'))
    expect(error.code).toBe('BAD_JOB_FILE')
    expect(error.message).toBe("/jobs/Refresh-Totals.mjs: the file name 'Refresh-Totals' is not a job name; add a name field")
  })
})

describe('fieldPath', () => {
  it('writes zod paths as field names with array indexes', () => {
    expect(fieldPath(['dependsOn', 0])).toBe('dependsOn[0]')
    expect(fieldPath(['source', 'keys', 2, 'column'])).toBe('source.keys[2].column')
    expect(fieldPath([])).toBe('')
  })
})

describe('orderByDependencies', () => {
  it('puts every dependency before the jobs that need it', () => {
    const jobs = [
      job('build_fact', { dependsOn: ['sync_dim_a', 'sync_dim_b'] }),
      job('rollup_week', { dependsOn: ['build_fact'] }),
      job('sync_dim_a'),
      job('sync_dim_b', { dependsOn: ['sync_dim_a'] }),
    ]
    expect(names(orderByDependencies(jobs))).toEqual(['sync_dim_a', 'sync_dim_b', 'build_fact', 'rollup_week'])
  })

  it('keeps the given order for independent jobs instead of sorting by name', () => {
    const jobs = [job('zeta'), job('alpha'), job('mid')]
    expect(names(orderByDependencies(jobs))).toEqual(['zeta', 'alpha', 'mid'])
  })

  it('returns the same order every time for the same input', () => {
    const jobs = [job('c', { dependsOn: ['a'] }), job('b'), job('a'), job('d', { dependsOn: ['b'] })]
    const first = names(orderByDependencies(jobs))
    expect(first).toEqual(['b', 'a', 'c', 'd'])
    expect(names(orderByDependencies([...jobs]))).toEqual(first)
  })

  it('rejects a cycle as JOB_CYCLE naming the jobs in it and not the independent ones', () => {
    const jobs = [job('job_a', { dependsOn: ['job_b'] }), job('job_b', { dependsOn: ['job_a'] }), job('job_c')]
    const error = thrown(() => orderByDependencies(jobs))
    expect(error.code).toBe('JOB_CYCLE')
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe('jobs depend on each other in a cycle: job_a, job_b')
  })

  it('rejects a job that depends on itself as JOB_CYCLE', () => {
    const error = thrown(() => orderByDependencies([job('selfish', { dependsOn: ['selfish'] })]))
    expect(error.code).toBe('JOB_CYCLE')
    expect(error.message).toContain('selfish')
  })

  it('rejects a dependency on a job that does not exist as BAD_JOB_FILE naming the file and the dependency', () => {
    const error = thrown(() => orderByDependencies([job('needs_ghost', { dependsOn: ['ghost'] })]))
    expect(error.code).toBe('BAD_JOB_FILE')
    expect(error.message).toBe("/jobs/custom/needs_ghost.mjs: field 'dependsOn' names 'ghost', which is not a job")
  })
})

describe('JobRegistry', () => {
  const registry = new JobRegistry([
    job('report_monthly', { partition: 'month', dependsOn: ['build_fact'] }),
    job('build_fact', { dependsOn: ['sync_dim'] }),
    job('sync_dim', { partition: 'none' }),
    job('manual_only', { pipeline: false }),
  ])

  it('holds the jobs in dependency order', () => {
    expect(names(registry.jobs)).toEqual(['sync_dim', 'manual_only', 'build_fact', 'report_monthly'])
  })

  it('get returns a job by name and has tells whether it exists', () => {
    expect(registry.get('build_fact').name).toBe('build_fact')
    expect(registry.has('build_fact')).toBe(true)
    expect(registry.has('nope')).toBe(false)
  })

  it("get rejects an unknown name as UNKNOWN_JOB pointing at 'etl jobs'", () => {
    const error = thrown(() => registry.get('nope'))
    expect(error.code).toBe('UNKNOWN_JOB')
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe("no job named 'nope'; 'etl jobs' lists them")
  })

  it('select keeps dependency order whatever order the names are given in', () => {
    expect(names(registry.select(['report_monthly', 'sync_dim', 'build_fact']))).toEqual(['sync_dim', 'build_fact', 'report_monthly'])
  })

  it('select without names returns only the pipeline jobs', () => {
    expect(names(registry.select())).toEqual(['sync_dim', 'build_fact'])
    expect(names(registry.select([]))).toEqual(['sync_dim', 'build_fact'])
  })

  it('select includes a named job even when it is outside the pipeline', () => {
    expect(names(registry.select(['manual_only']))).toEqual(['manual_only'])
  })

  it('select rejects an unknown name as UNKNOWN_JOB', () => {
    expect(thrown(() => registry.select(['build_fact', 'nope'])).code).toBe('UNKNOWN_JOB')
  })
})

describe('JobRegistry.ofBundled (the bundle\'s own jobs, validated when asked for)', () => {
  const entry = (name: string, fields: Record<string, unknown> = {}) => ({ file: `/jobs/custom/${name}.mjs`, exported: { kind: 'custom', run, ...fields } })
  const entries = () => [
    entry('build_fact', { dependsOn: ['sync_dim'] }),
    entry('sync_dim', { partition: 'none' }),
    entry('bad_field', { partitoin: 'day' }),
    entry('needs_bad', { dependsOn: ['bad_field'] }),
    entry('ping', { dependsOn: ['pong'] }),
    entry('pong', { dependsOn: ['ping'] }),
    entry('renamed_file', { name: 'sync_dim' }),
    entry('twin'),
    { file: '/jobs/other/twin.mjs', exported: { kind: 'custom', run } },
  ]
  const eager = () => {
    const all = entries()
    const jobs: RegisteredJob[] = []
    const broken: { name: string; file: string; error: EtlError }[] = []
    const seen = new Map<string, string>()
    for (const e of all) {
      try {
        const j = validateJob(e.exported, e.file)
        if (seen.has(j.name)) throw new EtlError('BAD_JOB_FILE', `${e.file}: job '${j.name}' is already defined in ${seen.get(j.name)}`)
        seen.set(j.name, e.file)
        jobs.push(j)
      } catch (error) {
        broken.push({ name: path.basename(e.file, '.mjs'), file: e.file, error: error as EtlError })
      }
    }
    return new JobRegistry(jobs, broken)
  }
  const outcome = (registry: JobRegistry, name: string) => {
    try {
      const j = registry.get(name)
      return { name: j.name, dependsOn: j.dependsOn }
    } catch (error) {
      return { code: (error as EtlError).code, message: (error as EtlError).message }
    }
  }

  it('answers get, jobs and broken as the registry that validated every file up front does', () => {
    for (const name of ['build_fact', 'sync_dim', 'bad_field', 'needs_bad', 'ping', 'pong', 'renamed_file', 'twin', 'nope']) {
      expect(outcome(JobRegistry.ofBundled(entries()), name), name).toEqual(outcome(eager(), name))
    }
    const lazy = JobRegistry.ofBundled(entries())
    expect(lazy.prevalidated).toBe(true)
    expect(names(lazy.jobs)).toEqual(names(eager().jobs))
    expect(lazy.broken.map((b) => [b.name, b.error.message])).toEqual(eager().broken.map((b) => [b.name, b.error.message]))
  })

  it('get validates the job and its dependencies only', () => {
    // renamed_file also calls itself sync_dim: that one is for the whole registry to settle
    const all = entries().filter((e) => !e.file.includes('renamed_file'))
    const touched = new Set<string>()
    const watched = all.map((e) => ({ file: e.file, exported: new Proxy(e.exported, { ownKeys: (t) => (touched.add(e.file), Reflect.ownKeys(t)) }) }))
    const registry = JobRegistry.ofBundled(watched)
    expect(registry.get('build_fact').dependsOn).toEqual(['sync_dim'])
    expect([...touched].sort()).toEqual(['/jobs/custom/build_fact.mjs', '/jobs/custom/sync_dim.mjs'])
    expect(new JobRegistry([]).prevalidated).toBe(false)
  })
})

describe('loadRegistry', () => {
  const made: string[] = []

  afterEach(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })

  /** A fresh folder with the given files; fresh paths also keep Node's module cache out of the way. */
  function folder(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-registry-'))
    made.push(dir)
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
      fs.writeFileSync(path.join(dir, name), text)
    }
    return dir
  }

  const customJob = (fields = '') => `export default { kind: 'custom', ${fields} run: async () => ({}) }\n`
  const explodes = `throw new Error('this file must not be imported')\n`

  it('loads the .mjs job files of a folder and names the jobs after their files', async () => {
    const dir = folder({
      'sync_things.mjs': customJob("partition: 'none',"),
      'build_things.mjs': customJob("dependsOn: ['sync_things'],"),
    })
    const registry = await loadRegistry([dir])
    expect(names(registry.jobs)).toEqual(['sync_things', 'build_things'])
    expect(registry.get('build_things').file).toBe(path.join(dir, 'build_things.mjs'))
    expect(registry.get('build_things').dependsOn).toEqual(['sync_things'])
  })

  it('loads job files from subfolders and from several folders', async () => {
    const first = folder({ 'dimension/sync_a.mjs': customJob() })
    const second = folder({ 'custom/nested/job_b.mjs': customJob() })
    expect(names((await loadRegistry([first, second])).jobs)).toEqual(['sync_a', 'job_b'])
  })

  it('ignores helpers starting with _, .d.ts declarations, test files, source maps and other extensions', async () => {
    const dir = folder({
      'real_job.mjs': customJob(),
      '_shared.mjs': explodes,
      'real_job.d.ts': 'export declare const x: this is not valid JavaScript',
      'real_job.test.mjs': explodes,
      'real_job.mjs.map': '{}',
      'notes.json': '{}',
      'README.md': '# jobs',
    })
    expect(names((await loadRegistry([dir])).jobs)).toEqual(['real_job'])
  })

  it('returns an empty registry for a folder that does not exist', async () => {
    const missing = path.join(os.tmpdir(), `nightshift-missing-${process.pid}-${Date.now()}`)
    expect((await loadRegistry([missing])).jobs).toEqual([])
  })

  it('rejects two files that define the same job name as BAD_JOB_FILE naming both files', async () => {
    const dir = folder({
      'a_first.mjs': customJob("name: 'same_name',"),
      'b_second.mjs': customJob("name: 'same_name',"),
    })
    const error: unknown = await brokenError([dir])
    expect(error).toBeInstanceOf(EtlError)
    expect(error).toMatchObject({ code: 'BAD_JOB_FILE' })
    expect((error as EtlError).message).toBe(
      `${path.join(dir, 'b_second.mjs')}: job 'same_name' is already defined in ${path.join(dir, 'a_first.mjs')}`,
    )
  })

  it('rejects a file without a default export as BAD_JOB_FILE naming the file', async () => {
    const dir = folder({ 'no_default.mjs': `export const job = { kind: 'custom', run: async () => ({}) }\n` })
    expect(await brokenError([dir])).toMatchObject({
      code: 'BAD_JOB_FILE',
      message: `${path.join(dir, 'no_default.mjs')}: has no default export describing the job`,
    })
  })

  it('rejects a file that fails to import as BAD_JOB_FILE keeping the cause', async () => {
    const dir = folder({ 'broken.mjs': explodes })
    const error: unknown = await brokenError([dir])
    expect(error).toMatchObject({
      code: 'BAD_JOB_FILE',
      message: `${path.join(dir, 'broken.mjs')}: cannot be loaded: this file must not be imported`,
    })
    expect((error as EtlError).cause).toBeInstanceOf(Error)
  })

  it('rejects a file with a bad field as BAD_JOB_FILE naming the file and the field', async () => {
    const dir = folder({ 'bad_schedule.mjs': customJob("schedule: 'every day',") })
    expect(await brokenError([dir])).toMatchObject({
      code: 'BAD_JOB_FILE',
      message: expect.stringContaining(`${path.join(dir, 'bad_schedule.mjs')}: field 'schedule'`),
    })
  })

  it('names an unknown field, with the field it most likely meant', async () => {
    const dir = folder({ 'typo.mjs': customJob("partiton: 'week',"), 'far_off.mjs': customJob('zzz: 1,') })
    const registry = await loadRegistry([dir])
    expect(registry.broken.map((b) => b.error.message)).toEqual([
      `${path.join(dir, 'far_off.mjs')}: unknown field 'zzz' (a custom job has: ${[...Object.keys(JobCommonSchema.shape), 'run', 'targets'].join(', ')})`,
      `${path.join(dir, 'typo.mjs')}: unknown field 'partiton'; did you mean 'partition'?`,
    ])
  })

  it('names the line and column of a syntax error', async () => {
    const dir = folder({ 'oops.mjs': "export default {\n  kind: 'custom',\n  run: async () => ({}))\n}\n" })
    const error = (await brokenError([dir])) as EtlError
    expect(error.code).toBe('BAD_JOB_FILE')
    expect(error.message).toBe(`${path.join(dir, 'oops.mjs')}:3:24: syntax error: Expected "}" but found ")"`)
  })

  it('keeps the good jobs when one file is broken, and leaves out the jobs that depend on it', async () => {
    const dir = folder({
      'a_good.mjs': customJob(),
      'b_broken.mjs': explodes,
      'c_needs_broken.mjs': customJob("dependsOn: ['b_broken'],"),
      'd_needs_that.mjs': customJob("dependsOn: ['c_needs_broken'],"),
    })
    const registry = await loadRegistry([dir])
    expect(names(registry.jobs)).toEqual(['a_good'])
    expect(registry.broken.map((b) => b.name)).toEqual(['b_broken', 'c_needs_broken', 'd_needs_that'])
    expect(registry.broken[1]!.error.message).toBe(
      `${path.join(dir, 'c_needs_broken.mjs')}: depends on 'b_broken', which cannot be loaded (${path.join(dir, 'b_broken.mjs')})`,
    )
    // selecting a broken job is its own error, exit 2
    expect(thrown(() => registry.get('c_needs_broken'))).toBe(registry.broken[1]!.error)
    expect(registry.select()).toEqual(registry.jobs)
  })

  it('refuses an extra folder that does not exist as the environment (exit 3), naming it', async () => {
    const missing = path.join(os.tmpdir(), `nightshift-missing-${process.pid}-${Date.now()}`)
    const error = await loadRegistry([folder({}), missing]).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CONFIG', message: `ETL_JOBS_PATH: the folder ${missing} does not exist` })
    expect((error as EtlError).exitCode).toBe(3)
  })

  it('rejects job files that depend on each other in a cycle as JOB_CYCLE', async () => {
    const dir = folder({
      'ping.mjs': customJob("dependsOn: ['pong'],"),
      'pong.mjs': customJob("dependsOn: ['ping'],"),
    })
    expect(await brokenError([dir])).toMatchObject({
      code: 'JOB_CYCLE',
      message: 'jobs depend on each other in a cycle: ping, pong',
    })
  })
})
