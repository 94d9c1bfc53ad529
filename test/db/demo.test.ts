import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql, type RawBuilder } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { demoChecksums, fillDemo, type DemoOptions, type DemoSummary } from '../../src/demo/generate.js'
import { etl } from '../helpers/cli.js'
import { createTestWarehouse, testDbKind, type TestWarehouse } from '../helpers/db.js'

const SMALL: DemoOptions = { scale: 'small', seed: 42, today: '2025-01-15', timezone: 'UTC' }

/** A database of its own, filled as a source would be; `close` drops it. */
async function demoSource(options: DemoOptions) {
  const tw: TestWarehouse = await createTestWarehouse({ migrate: false })
  const db: Database = await tw.open()
  const summary: DemoSummary = await fillDemo(db, options)
  const close = async () => {
    await db.close()
    await tw.drop()
  }
  return { db, summary, close }
}

async function one<T>(db: Database, query: RawBuilder<T>): Promise<T> {
  const { rows } = await query.execute(db.db)
  return rows[0]!
}

let source: Awaited<ReturnType<typeof demoSource>>
let checksums: Record<string, string>

beforeAll(async () => {
  source = await demoSource(SMALL)
  checksums = await demoChecksums(source.db)
})

afterAll(async () => {
  await source?.close()
})

describe('demo data: determinism', () => {
  it('gives identical rows for the same seed and day in a fresh database', async () => {
    const again = await demoSource(SMALL)
    try {
      expect(await demoChecksums(again.db)).toEqual(checksums)
    } finally {
      await again.close()
    }
  })

  it('gives other rows for another seed (the asset list aside, which is fixed)', async () => {
    const other = await demoSource({ ...SMALL, seed: 7 })
    try {
      const theirs = await demoChecksums(other.db)
      for (const [table, checksum] of Object.entries(checksums)) {
        if (table === 'assets') expect(theirs[table], table).toBe(checksum)
        else expect(theirs[table], table).not.toBe(checksum)
      }
    } finally {
      await other.close()
    }
  })

  it('leaves a source that already has data as it is', async () => {
    const second = await fillDemo(source.db, { ...SMALL, seed: 99 })
    expect(second.created).toBe(false)
    expect(second.counts).toEqual(source.summary.counts)
    expect(await demoChecksums(source.db)).toEqual(checksums)
  })
})

describe('demo data: the small scale', () => {
  it('has 5 tenants, 300 learners, 40 users, 6 subjects, 60 skills, and activity in proportion', () => {
    const { created, counts } = source.summary
    expect(created).toBe(true)
    expect(counts).toMatchObject({ tenants: 5, learners: 300, users: 40, subjects: 6, skills: 60, assets: 8 })
    expect(counts.sessions).toBeGreaterThan(2_000)
    expect(counts.sessions).toBeLessThan(4_000)
    expect(counts.focus_events).toBeGreaterThan(5 * counts.sessions!)
    expect(counts.focus_events).toBeLessThan(10 * counts.sessions!)
    for (const table of ['homework_submissions', 'skill_mastery', 'recommendations']) expect(counts[table], table).toBeGreaterThan(100)
  })

  it('dates every event inside the 14 days ending on `today`, not by the clock', async () => {
    const bounds = await one(
      source.db,
      sql<{ first: string; last: string; days: number }>`
        select to_char(min(started_at at time zone 'UTC'), 'YYYY-MM-DD') as first,
          to_char(max(started_at at time zone 'UTC'), 'YYYY-MM-DD') as last,
          count(distinct (started_at at time zone 'UTC')::date)::int as days
        from sessions`,
    )
    expect(bounds).toMatchObject({ first: '2025-01-02', last: '2025-01-15', days: 14 })
  })

  it('has fewer sessions on Saturdays and Sundays than on weekdays, on average', async () => {
    const perDay = await one(
      source.db,
      sql<{ weekday: number; weekend: number }>`
        select avg(n) filter (where dow < 6)::float8 as weekday, avg(n) filter (where dow >= 6)::float8 as weekend
        from (
          select extract(isodow from started_at at time zone 'UTC') as dow, count(*) as n
          from sessions group by (started_at at time zone 'UTC')::date, 1
        ) d`,
    )
    expect(perDay.weekend).toBeLessThan(perDay.weekday * 0.6)
  })

  it('has late-arriving sessions and focus events, recorded the day after they happened', async () => {
    const late = await one(
      source.db,
      sql<{ sessions: number; focus_events: number }>`
        select
          (select count(*)::int from sessions
            where (created_at at time zone 'UTC')::date = (started_at at time zone 'UTC')::date + 1) as sessions,
          (select count(*)::int from focus_events
            where (created_at at time zone 'UTC')::date = (occurred_at at time zone 'UTC')::date + 1) as focus_events`,
    )
    expect(late.sessions).toBeGreaterThan(0)
    expect(late.sessions).toBeLessThan(source.summary.counts.sessions! * 0.1)
    expect(late.focus_events).toBeGreaterThan(0)
  })

  it('has inactive and soft-deleted learners, and one tenant deactivated inside the window', async () => {
    const people = await one(
      source.db,
      sql<{ inactive: number; deleted: number; tenants_off: number; off_in_window: number; active_after_delete: number }>`
        select
          (select count(*)::int from learners where not is_active and deleted_at is null) as inactive,
          (select count(*)::int from learners where deleted_at is not null) as deleted,
          (select count(*)::int from tenants where not is_active) as tenants_off,
          (select count(*)::int from tenants where not is_active and updated_at >= '2025-01-14Z') as off_in_window,
          (select count(*)::int from sessions s join learners l on l.id = s.learner_id where s.started_at >= l.deleted_at) as active_after_delete`,
    )
    expect(people.inactive).toBeGreaterThan(0)
    expect(people.deleted).toBeGreaterThan(0)
    expect(people.deleted).toBeLessThan(30)
    expect(people).toMatchObject({ tenants_off: 1, off_in_window: 1, active_after_delete: 0 })
  })

  it('updates some tenants, learners and users inside the window, so the dimensions get new versions', async () => {
    for (const table of ['tenants', 'learners', 'users']) {
      const { updated } = await one(
        source.db,
        sql<{ updated: number }>`
          select count(*)::int as updated from ${sql.table(table)}
          where updated_at > created_at and updated_at >= '2025-01-02Z' and updated_at < '2025-01-16Z'`,
      )
      expect(updated, table).toBeGreaterThan(0)
    }
  })

  it('never has more correct responses than responses, and ends each session after its duration', async () => {
    const bad = await one(
      source.db,
      sql<{ n: number }>`
        select count(*)::int as n from sessions
        where correct_responses > total_responses or correct_responses < 0
          or ended_at <> started_at + duration_seconds * interval '1 second'`,
    )
    expect(bad.n).toBe(0)
  })

  it('places every focus event inside its session, for its learner and tenant', async () => {
    const outside = await one(
      source.db,
      sql<{ n: number }>`
        select count(*)::int as n from focus_events f
        left join sessions s on s.id = f.session_id
        where s.id is null or f.occurred_at < s.started_at or f.occurred_at >= s.ended_at
          or f.learner_id <> s.learner_id or f.tenant_id <> s.tenant_id`,
    )
    expect(outside.n).toBe(0)
  })

  it('scores homework from 0 to 100 and leaves some ungraded', async () => {
    const scores = await one(
      source.db,
      sql<{ low: string; high: string; ungraded: number }>`
        select min(score) as low, max(score) as high, count(*) filter (where score is null)::int as ungraded
        from homework_submissions`,
    )
    expect(Number(scores.low)).toBeGreaterThanOrEqual(0)
    expect(Number(scores.high)).toBeLessThanOrEqual(100)
    expect(scores.ungraded).toBeGreaterThan(0)
  })

  it('accepts about half of the recommendations, each after it was made', async () => {
    const recs = await one(
      source.db,
      sql<{ share: number; bad: number }>`
        select (count(*) filter (where accepted))::float8 / count(*) as share,
          count(*) filter (where accepted and not accepted_at > recommended_at
                           or accepted is not true and accepted_at is not null)::int as bad
        from recommendations`,
    )
    expect(recs.share).toBeGreaterThan(0.35)
    expect(recs.share).toBeLessThan(0.65)
    expect(recs.bad).toBe(0)
  })

  it('updates skill mastery on every day of the window', async () => {
    const { days } = await one(
      source.db,
      sql<{ days: number }>`select count(distinct (updated_at at time zone 'UTC')::date)::int as days from skill_mastery`,
    )
    expect(days).toBe(14)
  })
})

describe('demo data: time zones', () => {
  it('keeps sessions in local daytime across a DST change in the zone', async () => {
    const ny = await demoSource({ ...SMALL, today: '2025-03-10', timezone: 'America/New_York' })
    try {
      const local = await one(
        ny.db,
        sql<{ earliest: number; latest: number; days: number }>`
          select min(extract(hour from started_at at time zone 'America/New_York'))::int as earliest,
            max(extract(hour from ended_at at time zone 'America/New_York'))::int as latest,
            count(distinct (started_at at time zone 'America/New_York')::date)::int as days
          from sessions`,
      )
      expect(local).toEqual({ earliest: 7, latest: 21, days: 14 })
    } finally {
      await ny.close()
    }
  })
})

describe('etl demo', () => {
  it.skipIf(testDbKind() !== 'pglite')(
    'fills a fresh embedded source, runs the pipeline, and leaves the data alone the second time (embedded only)',
    async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-demo-'))
      try {
        const first = await etl(['demo', '--days', '1'], { ETL_DATA_DIR: dataDir })
        expect(first.code, first.stderr).toBe(0)
        expect(first.stdout).toMatch(/^demo data: created in [\d.]+ s \(5 tenants, 300 learners, /m)
        const second = await etl(['demo', '--days', '1'], { ETL_DATA_DIR: dataDir })
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toMatch(/^demo data: source already has data; left as it is/m)
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
    },
  )
})
