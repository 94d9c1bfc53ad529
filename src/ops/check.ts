import type { Kysely } from 'kysely'
import { DateTime } from 'luxon'
import type { RegisteredJob } from '../engine/job.js'
import type { JobRegistry } from '../engine/registry.js'
import { findSuccess, goneRuns, latestAttempt, latestSuccessPerPartition, recentFailures, succeededSince, type Attempt } from '../engine/ledger/index.js'
import { redact } from '../redact.js'
import { addDays, nextPeriodStart, periodStart, type IsoDate } from '../time/calendar.js'

/**
 * `etl check`: what an operator is paged for. Job files that cannot be loaded, and four alerts, each one query per job or one in
 * all: runs that failed recently and have not succeeded since, RUNNING rows whose process is
 * gone, partitions still not SUCCESS past their job's deadline, and a latest partition with far
 * fewer rows than the ones before it.
 */
export type AlertType = 'failed' | 'abandoned' | 'late' | 'rows_drop' | 'broken_job'

export interface Alert {
  readonly type: AlertType
  readonly job: string
  /** The partition (target date), or null for jobs without one. */
  readonly partition: string | null
  readonly message: string
  readonly details: Readonly<Record<string, unknown>>
}

export interface CheckOptions {
  readonly now: Date
  /** Failed or PARTIAL runs that started within this many hours. */
  readonly hours: number
  /** Alert when the latest partition's rows are below this fraction of the median before it. */
  readonly minRatio: number
  /** How many partitions before the latest make the median. */
  readonly runs: number
}

export const CHECK_DEFAULTS = { hours: 24, minRatio: 0.5, runs: 7 } as const
/** Fewer earlier partitions than this say nothing about a drop. */
const MIN_HISTORY = 3

export async function runChecks(db: Kysely<any>, jobs: readonly RegisteredJob[], options: CheckOptions): Promise<Alert[]> {
  return [...(await failedRuns(db, options)), ...(await abandonedRuns(db)), ...(await latePartitions(db, jobs, options.now)), ...(await rowDrops(db, jobs, options))]
}

/** A job file that cannot be loaded runs nowhere: an operator must hear of it before its data goes stale. */
export function brokenJobAlerts(registry: JobRegistry): Alert[] {
  return registry.broken.map((b) => ({ type: 'broken_job', job: b.name, partition: null, message: b.error.message, details: { file: b.file } }))
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')
const oneLine = (text: string | null, max = 200) => (text ? redact(text).replace(/\s+/g, ' ').slice(0, max) : '')

/**
 * FAILED or PARTIAL runs of the last hours, one alert per (job, partition) with its newest
 * failure; a pair that has succeeded since is resolved and not reported.
 */
export async function failedRuns(db: Kysely<any>, options: Pick<CheckOptions, 'now' | 'hours'>): Promise<Alert[]> {
  const since = new Date(options.now.getTime() - options.hours * 3_600_000)
  const rows = await recentFailures(db, since)
  const alerts = new Map<string, Alert>()
  const attempts = new Map<string, number>()
  for (const r of rows) {
    const key = `${r.job_name}@${r.target ?? ''}`
    attempts.set(key, (attempts.get(key) ?? 0) + 1)
    if (alerts.has(key)) continue
    alerts.set(key, {
      type: 'failed',
      job: r.job_name,
      partition: r.target,
      message: '',
      details: { status: r.status, runId: r.id, startedAt: iso(r.started_at), error: oneLine(r.error_message, 1000) || null },
    })
  }
  return [...alerts.entries()].map(([key, a]) => {
    const n = attempts.get(key)!
    const d = a.details as { status: string; startedAt: string; error: string | null }
    const message = `${d.status} at ${d.startedAt}${n > 1 ? ` (${n} failed attempts in ${options.hours}h)` : ''}, not SUCCESS since${d.error ? `: ${oneLine(d.error)}` : ''}`
    return { ...a, message, details: { ...a.details, attempts: n } }
  })
}

/**
 * RUNNING rows whose run is gone: nothing holds their lock (read from pg_locks, never by taking
 * it, which could make a run starting at that moment skip). The next run of the pair, or a
 * backfill over it, records them FAILED; until then they would look busy forever.
 */
export async function abandonedRuns(db: Kysely<any>): Promise<Alert[]> {
  const rows = await goneRuns(db)
  return rows.map((r) => ({
    type: 'abandoned' as const,
    job: r.job_name,
    partition: r.target,
    message: `RUNNING since ${iso(r.started_at)} but its process (${r.host ?? '?'} pid ${r.pid ?? '?'}) is gone: nothing holds its lock; the next run of it records it FAILED`,
    details: { runId: r.id, startedAt: iso(r.started_at), host: r.host, pid: r.pid },
  }))
}

/**
 * The newest partition of a job whose deadline has passed at `now`. A partition is due at the
 * deadline (HH:MM in the job's zone) on the day after its last day: day D at D+1, a week on its
 * next Monday, a month on its next 1st. A job without partition is due once a day at the deadline.
 */
export function duePartition(job: RegisteredJob, deadline: string, now: Date): { target: IsoDate | null; dueAt: Date } {
  const local = DateTime.fromJSDate(now, { zone: job.timezone })
  const at = (day: IsoDate) => DateTime.fromISO(`${day}T${deadline}`, { zone: job.timezone })
  const today = local.toISODate()!
  const lastDueDay = local >= at(today) ? today : addDays(today, -1)
  if (job.partition === 'none') return { target: null, dueAt: at(lastDueDay).toJSDate() }
  const period = job.partition
  const lastDay = addDays(lastDueDay, -1)
  let target = periodStart(lastDay, period)
  // the period holding lastDay is due only if lastDay is its last day
  if (nextPeriodStart(target, period) !== lastDueDay) target = periodStart(addDays(target, -1), period)
  return { target, dueAt: at(nextPeriodStart(target, period)).toJSDate() }
}

/** Jobs with a deadline whose due partition is not SUCCESS (for jobs without one: no SUCCESS in the day before the deadline, or since). */
export async function latePartitions(db: Kysely<any>, jobs: readonly RegisteredJob[], now: Date): Promise<Alert[]> {
  const alerts: Alert[] = []
  for (const job of jobs) {
    if (!job.deadline) continue
    const { target, dueAt } = duePartition(job, job.deadline, now)
    const zone = `${job.deadline} ${job.timezone}`
    if (target === null) {
      const from = new Date(dueAt.getTime() - 86_400_000)
      if (await succeededSince(db, job.name, from)) continue
      const last = describedAttempt(await latestAttempt(db, job.name, null))
      alerts.push({
        type: 'late',
        job: job.name,
        partition: null,
        message: `no SUCCESS in the day before its deadline ${zone} (due ${iso(dueAt)}); ${describeAttempt(last)}`,
        details: { deadline: job.deadline, timezone: job.timezone, dueAt: iso(dueAt), latest: last ?? null },
      })
      continue
    }
    if (await findSuccess(db, job.name, target)) continue
    const last = describedAttempt(await latestAttempt(db, job.name, target))
    alerts.push({
      type: 'late',
      job: job.name,
      partition: target,
      message: `partition ${target} is not SUCCESS past its deadline ${zone} (due ${iso(dueAt)}); ${describeAttempt(last)}`,
      details: { deadline: job.deadline, timezone: job.timezone, dueAt: iso(dueAt), latest: last ?? null },
    })
  }
  return alerts
}

interface DescribedAttempt {
  status: Attempt['status']
  startedAt: string
  error: string | null
}

const describedAttempt = (r: Attempt | undefined): DescribedAttempt | undefined =>
  r && { status: r.status, startedAt: iso(r.started_at), error: oneLine(r.error_message) || null }

function describeAttempt(last: DescribedAttempt | undefined): string {
  if (!last) return 'never attempted'
  return `latest attempt: ${last.status} at ${last.startedAt}${last.error ? ` (${last.error})` : ''}`
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Partitioned jobs whose newest SUCCESS partition processed fewer rows than `minRatio` times the
 * median of the `runs` partitions before it. Jobs without partition are left out: what they
 * process is what changed since the last run, which has no typical size.
 */
export async function rowDrops(db: Kysely<any>, jobs: readonly RegisteredJob[], options: Pick<CheckOptions, 'minRatio' | 'runs'>): Promise<Alert[]> {
  const alerts: Alert[] = []
  for (const job of jobs) {
    if (job.partition === 'none') continue
    const rows = await latestSuccessPerPartition(db, job.name, options.runs + 1)
    const [latest, ...before] = rows
    if (!latest || before.length < Math.min(MIN_HISTORY, options.runs)) continue
    const typical = median(before.map((r) => Number(r.rows_processed)))
    const processed = Number(latest.rows_processed)
    if (typical > 0 && processed < options.minRatio * typical) {
      alerts.push({
        type: 'rows_drop',
        job: job.name,
        partition: latest.target,
        message: `processed ${processed} rows, below ${options.minRatio} × the median ${typical} of the ${before.length} partitions before`,
        details: { rowsProcessed: processed, median: typical, minRatio: options.minRatio, runs: before.length },
      })
    }
  }
  return alerts
}
