import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { realtimeMetrics } from '../../src/cache/realtime.js'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { insertRun } from '../../src/engine/ledger/index.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { builtinJobsDir } from '../../src/paths.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { runEnvFor } from '../helpers/run-env.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `ns-test-rtjobs-${randomBytes(4).toString('hex')}:`

let tw: TestWarehouse
let db: Database
let registry: JobRegistry
let redis: Redis

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  registry = await loadRegistry([builtinJobsDir])
  redis = new Redis(REDIS_URL, { keyPrefix: prefix, lazyConnect: true })
  await redis.connect()
  await db.exec(`create table if not exists fact_sessions_default partition of fact_sessions default;
    insert into fact_sessions (session_id, date_key, tenant_id, learner_id, duration_seconds, activities_completed, correct_responses,
      total_responses, started_at, ended_at, recorded_at)
    select g, 20250115, 1 + g % 2, g, 60, 1, 1, 1, '2025-01-15T10:00Z', '2025-01-15T10:01Z', '2025-01-15T10:01Z'
    from generate_series(1, 5) g;`)
  await insertRun(db.db, {
    invocationId: '00000000-0000-4000-8000-000000000001',
    jobName: 'build_fact_sessions',
    runDate: '2025-01-16',
    targetDate: '2025-01-15',
    status: 'SUCCESS',
    startedAt: new Date('2025-01-16T02:00:00Z'),
  })
})

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length) await redis.del(...keys.map((k) => k.slice(prefix.length)))
  await redis.quit()
  await db?.close()
  await tw?.drop()
})

const env = (redisUrl: string | undefined) =>
  runEnvFor(db, loadConfig({ ...tw.env, REDIS_KEY_PREFIX: prefix, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }), () => new Date('2025-01-16T09:05:00Z'))

describe('real-time metric jobs', () => {
  it('reconcile_realtime_metrics corrects drifted session counters of the newest built day from the warehouse', async () => {
    const rt = realtimeMetrics(redis)
    await rt.correct('sessions:tenant:1', '2025-01-15', 7) // the app over-counted: the warehouse has 2
    await rt.correct('sessions:tenant:2', '2025-01-15', 3) // right
    const outcome = await runJob(env(REDIS_URL), { job: registry.get('reconcile_realtime_metrics') })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result).toMatchObject({ rowsProcessed: 2, rowsUpdated: 1 })
    expect(await rt.counter('sessions:tenant:1', '2025-01-15')).toBe(2)
    expect(await rt.counter('sessions:tenant:2', '2025-01-15')).toBe(3)
  })

  it('cleanup_realtime_metrics drops histogram samples past their window', async () => {
    const old = realtimeMetrics(redis, { now: () => new Date(Date.now() - 2 * 3_600_000), histogramWindowMs: 10 * 3_600_000 })
    await old.observe('latency_ms', 40) // two hours old: past the default one-hour window
    await old.observe('latency_ms', 45, new Date()) // fresh
    const outcome = await runJob(env(REDIS_URL), { job: registry.get('cleanup_realtime_metrics') })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result.rowsDeleted).toBe(1)
    expect(await redis.zcard('rt:hist:latency_ms')).toBe(1)
  })

  it('records SKIPPED with the reason when there is no Redis', async () => {
    const outcome = await runJob(env(undefined), { job: registry.get('reconcile_realtime_metrics') })
    expect(outcome.status).toBe('SKIPPED')
    expect(outcome.message).toMatch(/no Redis/)
    const down = await runJob(env('redis://127.0.0.1:1'), { job: registry.get('cleanup_realtime_metrics') })
    expect(down.status).toBe('SKIPPED')
  })
})
