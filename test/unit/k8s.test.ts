import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { CronJob } from 'kubernetes-models/batch/v1/CronJob'
import { Job } from 'kubernetes-models/batch/v1/Job'
import { describe, expect, it } from 'vitest'
import { planBackfill, shardDays } from '../../src/engine/backfill.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { loadRegistry, orderByDependencies, validateJob } from '../../src/engine/registry.js'
import type { RunEnv } from '../../src/engine/runner.js'
import { BACKFILL_SHARDS, k8sManifests, periodSeconds, SECRET, CONFIG_MAP, type ManifestFile } from '../../src/ops/k8s.js'
import { planSchedule } from '../../src/ops/schedule.js'
import { toYaml } from '../../src/ops/yaml.js'
import { silentLogger } from '../../src/log.js'
import { dateRange } from '../../src/time/calendar.js'
import { errorLines, etl, root } from '../helpers/cli.js'

const job = (name: string, extra: Record<string, unknown> = {}): RegisteredJob =>
  validateJob({ kind: 'custom', name, partition: 'day', async run() {}, ...extra }, `test/${name}.mjs`)

const SYNTHETIC = orderByDependencies([
  job('sync_dim_a', { schedule: '0 * * * *', partition: 'none' }),
  job('fact_a', { schedule: '0 2 * * *', dependsOn: ['sync_dim_a'] }),
  job('fact_b', { schedule: '0 2 * * *' }),
  job('prices_latest', { schedule: '* 9-15 * * 1-5', timezone: 'America/New_York', partition: 'none', pipeline: false }),
  job('series', { schedule: '*/15 * * * *', partition: 'none' }),
])

/** Validates a manifest against the official schema of its kind (kubernetes-models); throws naming the field. */
function validate(object: Record<string, any>): void {
  if (object.kind === 'CronJob') new CronJob(object as never).validate()
  else if (object.kind === 'Job') new Job(object as never).validate()
  else if (object.kind === 'ConfigMap') new ConfigMap(object as never).validate()
  else throw new Error(`no schema for kind ${object.kind}`)
}

const manifestsOf = (jobs: readonly RegisteredJob[], timezone = 'UTC') =>
  k8sManifests(planSchedule(jobs, { timezone }), { image: 'registry.example/nightshift:1.0', timezone })

async function builtin(): Promise<ManifestFile[]> {
  return manifestsOf((await loadRegistry([path.join(root, 'jobs')])).jobs)
}

describe('Kubernetes manifests', () => {
  it('pass the official Kubernetes schemas (kubernetes-models), for the built-in jobs and others', async () => {
    for (const { object } of [...(await builtin()), ...manifestsOf(SYNTHETIC, 'Europe/Paris')]) {
      expect(() => validate(object), `${object.kind} ${object.metadata.name}`).not.toThrow()
    }
  })

  it('the schema check catches a broken manifest', () => {
    const broken = structuredClone(manifestsOf(SYNTHETIC).find((m) => m.object.kind === 'CronJob')!.object)
    broken.spec.concurrencyPolicy = 'Sometimes'
    expect(() => validate(broken)).toThrow(/concurrencyPolicy/)
    broken.spec.concurrencyPolicy = 'Forbid'
    broken.spec.jobTemplate.spec.template.spec.containers[0].resources.limits = 'lots'
    expect(() => validate(broken)).toThrow()
  })

  it('has one CronJob per schedule: Forbid, a starting deadline, history limits, OnFailure, resources, env from the Secret and the ConfigMap', () => {
    const cronJobs = manifestsOf(SYNTHETIC).filter((m) => m.object.kind === 'CronJob').map((m) => m.object)
    const schedules = cronJobs.map((c) => `${c.spec.timeZone ?? 'UTC'} ${c.spec.schedule}`)
    expect(new Set(schedules).size).toBe(cronJobs.length)
    const facts: string[] = cronJobs.find((c) => c.spec.schedule === '0 2 * * *')!.spec.jobTemplate.spec.template.spec.containers[0].args
    expect([...facts.slice(0, 2), facts[2]!.split(',').sort()]).toEqual(['run', '--jobs', ['fact_a', 'fact_b']])
    for (const c of cronJobs) {
      expect(c.metadata.name.length).toBeLessThanOrEqual(52)
      expect(c.spec.concurrencyPolicy).toBe('Forbid')
      expect(c.spec.startingDeadlineSeconds).toBeGreaterThan(0)
      expect(c.spec.startingDeadlineSeconds).toBeLessThan(periodSeconds(c.spec.schedule))
      expect(c.spec.successfulJobsHistoryLimit).toBeGreaterThan(0)
      expect(c.spec.failedJobsHistoryLimit).toBeGreaterThan(0)
      const pod = c.spec.jobTemplate.spec.template.spec
      expect(pod.restartPolicy).toBe('OnFailure')
      expect(pod.securityContext.runAsNonRoot).toBe(true)
      const [container] = pod.containers
      expect(container.image).toBe('registry.example/nightshift:1.0')
      expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
      expect(container.resources.limits).toMatchObject({ memory: expect.any(String) })
      expect(container.envFrom).toEqual([{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: SECRET } }])
    }
  })

  it('sets timeZone only where the schedule is not UTC', () => {
    const cronJobs = manifestsOf(SYNTHETIC).filter((m) => m.object.kind === 'CronJob').map((m) => m.object)
    expect(cronJobs.find((c) => c.metadata.name === 'etl-prices-latest')!.spec.timeZone).toBe('America/New_York')
    expect(cronJobs.filter((c) => c.spec.timeZone !== undefined).map((c) => c.metadata.name)).toEqual(['etl-prices-latest'])
  })

  it('keeps secrets out of the ConfigMap', () => {
    const config = manifestsOf(SYNTHETIC).find((m) => m.object.kind === 'ConfigMap')!.object
    expect(Object.keys(config.data).filter((k) => /URL|KEY|TOKEN|PASSWORD/.test(k))).toEqual([])
    expect(config.data.ETL_TIMEZONE).toBe('UTC')
  })

  it('has an Indexed Job for a sharded backfill, each pod taking its shard from JOB_COMPLETION_INDEX', () => {
    const backfill = manifestsOf(SYNTHETIC).find((m) => m.object.kind === 'Job')!
    expect(backfill.file).toMatch(/^backfill\//) // out of `kubectl apply -f k8s/`
    const spec = backfill.object.spec
    expect(spec).toMatchObject({ completionMode: 'Indexed', completions: BACKFILL_SHARDS, parallelism: BACKFILL_SHARDS })
    const args: string[] = spec.template.spec.containers[0].args
    expect(args.slice(0, 1)).toEqual(['backfill'])
    expect(args[args.indexOf('--shard') + 1]).toBe(`/${BACKFILL_SHARDS}`)
  })
})

describe('YAML writer', () => {
  it('quotes whatever could read as something other than a string', () => {
    expect(toYaml({ a: 'true', b: '0 2 * * *', c: '100m', d: 'x: y', e: '', f: 'plain-text', g: 3, h: false, i: '$(X)' })).toBe(
      'a: "true"\nb: "0 2 * * *"\nc: "100m"\nd: "x: y"\ne: ""\nf: plain-text\ng: 3\nh: false\ni: "$(X)"\n',
    )
  })

  it('writes nested objects and lists in block style, leaving undefined out', () => {
    expect(toYaml({ spec: { list: [{ name: 'a', args: ['x', 'y'] }, 'b'], empty: [], none: undefined } })).toBe(
      'spec:\n  list:\n    - name: a\n      args:\n        - x\n        - "y"\n    - b\n  empty: []\n',
    )
  })
})

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')

  it('is multi-stage, installs production dependencies only, runs as a non-root user with the built CLI as entrypoint', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2)
    expect(dockerfile).toMatch(/pnpm install --prod/)
    expect(dockerfile).toMatch(/^USER (node|\d+)/m)
    expect(dockerfile).not.toMatch(/^USER root/m)
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "[^"]*bin\/etl\.js"\]/m)
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist/)
    const ignore = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n')
    for (const entry of ['node_modules', 'dist', '.etl', '.git']) expect(ignore).toContain(entry)
  })
})

describe('backfill --shard', () => {
  it('splits the days into contiguous shards whose sizes differ by one at most', () => {
    const days = dateRange('2025-01-01', '2025-01-10')
    const shards = [0, 1, 2, 3].map((index) => [...shardDays(days, { index, count: 4 })])
    expect(shards.flat()).toEqual(days)
    expect(shards.map((s) => s.length)).toEqual([2, 3, 2, 3])
    // more shards than days: some shards are empty
    expect([0, 1, 2, 3].map((index) => shardDays(days.slice(0, 2), { index, count: 4 }).size)).toEqual([0, 1, 0, 1])
  })

  it('plans only its shard’s pairs; jobs without partition only in shard 0; a week in the shard of its last day', async () => {
    const jobs = orderByDependencies([job('dims', { partition: 'none' }), job('daily'), job('weekly', { partition: 'week', dependsOn: ['daily'] })])
    // --force plans without reading the ledger; by April every week of March has ended
    const env = { warehouse: undefined, now: () => new Date('2025-04-01T00:00:00Z'), config: { timezone: 'UTC' } } as unknown as RunEnv
    const plan = (index: number) => planBackfill(env, { from: '2025-03-01', to: '2025-03-10', jobs, force: true, shard: { index, count: 2 } })
    const [first, second] = [await plan(0), await plan(1)]
    expect(first.once.map((j) => j.name)).toEqual(['dims'])
    expect(second.once).toEqual([])
    expect(first.days.map((d) => d.date)).toEqual(dateRange('2025-03-01', '2025-03-05'))
    expect(second.days.map((d) => d.date)).toEqual(dateRange('2025-03-06', '2025-03-10'))
    // weeks: Mon 02-24 (ends in range on Sun 03-02), Mon 03-03 (Sun 03-09), Mon 03-10 (range ends 03-10)
    const weekly = (p: typeof first) => p.days.filter((d) => d.jobs.some((j) => j.name === 'weekly')).map((d) => d.date)
    expect(weekly(first)).toEqual(['2025-03-02'])
    expect(weekly(second)).toEqual(['2025-03-09', '2025-03-10'])
    expect(first.total + second.total).toBe(1 + 10 + 3)
  })

  it('takes the shard index from JOB_COMPLETION_INDEX when --shard has none, on the embedded database', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-shard-'))
    try {
      const args = ['backfill', '--from', '2025-03-01', '--to', '2025-03-04', '--jobs', 'fx_write', '--dry-run', '--shard', '/2']
      const result = await etl(args, { ETL_DATA_DIR: dataDir, JOB_COMPLETION_INDEX: '1' })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(/fx_write\s+2025-03-03\s+WOULD_RUN/)
      expect(result.stdout).toMatch(/fx_write\s+2025-03-04\s+WOULD_RUN/)
      expect(result.stdout).not.toMatch(/2025-03-0[12]/)
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it.each([
    ['an index past the count', ['--shard', '4/4'], {}, /must be i\/n/],
    ['no count', ['--shard', '2'], {}, /must be i\/n/],
    ['a count of zero', ['--shard', '0/0'], {}, /must be i\/n/],
    ['no index and no JOB_COMPLETION_INDEX', ['--shard', '/4'], {}, /JOB_COMPLETION_INDEX is not set/],
    ['a JOB_COMPLETION_INDEX past the count', ['--shard', '/4'], { JOB_COMPLETION_INDEX: '7' }, /must be i\/n/],
  ])('refuses %s with exit 2 and one line', async (_what, flags, env, message) => {
    const result = await etl(['backfill', '--from', '2025-01-01', '--to', '2025-01-02', ...flags], env)
    expect(result.code).toBe(2)
    expect(errorLines(result.stderr)).toHaveLength(1)
    expect(errorLines(result.stderr)[0]).toMatch(message)
  })
})
