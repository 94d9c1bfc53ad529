import { createHash } from 'node:crypto'
import type { RegisteredJob } from '../engine/job.js'
import { KINDS, type KindHandler } from '../kinds/index.js'

/**
 * What cron or Kubernetes should start, and when, worked out from the job registry once, so
 * the crontab and the CronJobs say the same thing. Jobs that share a (schedule, zone) become
 * one entry: one process runs them in dependency order with the default date (yesterday), so
 * a dependent of a failed job is recorded FAILED instead of running on stale input.
 */
export interface ScheduleEntry {
  /** lower-kebab name: the CronJob is `etl-<name>`, the crontab logs to `<name>.log`. */
  readonly name: string
  /** Five-field cron expression, read in `timezone`. */
  readonly schedule: string
  readonly timezone: string
  /** The `etl` arguments: `run-job --job X`, `run --jobs a,b`, `run` or `check`. */
  readonly args: readonly string[]
  /** The jobs it runs by name; empty for the full run and the check. */
  readonly jobs: readonly string[]
  /** One line for a comment. */
  readonly description: string
  readonly role: 'jobs' | 'pipeline' | 'check'
}

export interface SchedulePlan {
  readonly entries: readonly ScheduleEntry[]
  /** Jobs with no schedule that `etl run` does not include either: run them by hand. */
  readonly unscheduled: readonly string[]
}

export interface ScheduleOptions {
  /** The zone of the full run and the check: ETL_TIMEZONE, where a day ends. */
  readonly timezone: string
}

/** The full pipeline for yesterday, after the 02:00 facts: catches up anything missed. */
export const FULL_RUN_SCHEDULE = '0 3 * * *'
/** `etl check` every hour, late enough for the hour's jobs to have finished. */
export const CHECK_SCHEDULE = '45 * * * *'
/** Kubernetes limits CronJob names to 52 characters; `etl-` takes 4. */
const MAX_NAME = 48

export function planSchedule(jobs: readonly RegisteredJob[], options: ScheduleOptions): SchedulePlan {
  const groups = new Map<string, RegisteredJob[]>()
  const unscheduled: string[] = []
  const inFullRun: string[] = []
  for (const job of jobs) {
    if (!job.schedule) {
      if (!job.pipeline) unscheduled.push(job.name)
      continue
    }
    const schedule = normalizeCron(job.schedule)
    // a pipeline job due at the full run's own time is run by it, not by a second process racing it
    if (job.pipeline && schedule === FULL_RUN_SCHEDULE && job.timezone === options.timezone) {
      inFullRun.push(job.name)
      continue
    }
    const key = `${job.timezone}\n${schedule}`
    groups.set(key, [...(groups.get(key) ?? []), job])
  }

  const used = new Set(['run', 'check'])
  const entries: ScheduleEntry[] = []
  for (const group of groups.values()) {
    const names = group.map((j) => j.name)
    const schedule = normalizeCron(group[0]!.schedule!)
    const name = uniqueName(entryName(names, schedule), used)
    entries.push({
      name,
      schedule,
      timezone: group[0]!.timezone,
      args: names.length === 1 ? singleJobArgs(group[0]!).args : ['run', '--jobs', names.join(',')],
      jobs: names,
      description: `${names.join(', ')} (${describeKinds(group)})${group.map((j) => periodWarning(j, schedule)).join('')}`,
      role: 'jobs',
    })
  }
  entries.push({
    name: 'run',
    schedule: FULL_RUN_SCHEDULE,
    timezone: options.timezone,
    args: ['run'],
    jobs: [],
    description: `the full daily pipeline for yesterday (etl run), catching up anything missed${inFullRun.length ? `; it also runs ${inFullRun.join(', ')}, scheduled at this time` : ''}`,
    role: 'pipeline',
  })
  entries.push({
    name: 'check',
    schedule: CHECK_SCHEDULE,
    timezone: options.timezone,
    args: ['check'],
    jobs: [],
    description: 'alerts: failed runs, partitions late past their deadline, drops in rows processed (exit 1 when one fires)',
    role: 'check',
  })
  return { entries: sortByZone(entries), unscheduled }
}

/**
 * A job alone on its schedule: `etl run-job`, whose default date is yesterday, unless its kind
 * says otherwise (src/kinds): the weekly and monthly rollups run as `etl rollup weekly|monthly`,
 * which take the last complete period, since on the 2nd of a month yesterday lies in the month
 * just begun.
 */
function singleJobArgs(job: RegisteredJob): { args: string[]; ownPeriod: boolean } {
  const kind: KindHandler = KINDS[job.kind]
  const own = kind.scheduleArgs?.(job)
  return own ? { args: own, ownPeriod: true } : { args: ['run-job', '--job', job.name], ownPeriod: false }
}

/** Says so when a weekly or monthly job run for yesterday would get a period that has not ended. */
function periodWarning(job: RegisteredJob, schedule: string): string {
  if (job.partition !== 'week' && job.partition !== 'month') return ''
  if (singleJobArgs(job).ownPeriod) return ''
  const [, , dom, , dow] = schedule.split(' ')
  const dayAfterPeriod = job.partition === 'week' ? dow === '1' : dom === '1'
  return dayAfterPeriod ? '' : `; WARNING: ${job.name} runs for the ${job.partition} holding yesterday, which has not ended on this schedule`
}

/** UTC first, then the other zones alphabetically; registry order within a zone. */
function sortByZone(entries: ScheduleEntry[]): ScheduleEntry[] {
  const zones = [...new Set(entries.map((e) => e.timezone))].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)))
  return zones.flatMap((zone) => entries.filter((e) => e.timezone === zone))
}

export function normalizeCron(expression: string): string {
  return expression.trim().split(/\s+/).join(' ')
}

function describeKinds(jobs: readonly RegisteredJob[]): string {
  const kinds = [...new Set(jobs.map((j) => j.kind))].join('/')
  const partitions = [...new Set(jobs.map((j) => j.partition))]
  const per = partitions.map((p) => (p === 'none' ? 'no partition' : `per ${p}`)).join(' and ')
  return `${kinds}, ${per}`
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const num = /^\d+$/

/** A short readable slug of a cron expression, for names: hourly, daily-0200, mon-0400, every-15m. */
export function cronSlug(expression: string): string {
  const [minute, hour, dom, month, dow] = normalizeCron(expression).split(' ') as [string, string, string, string, string]
  const hhmm = () => `${hour.padStart(2, '0')}${minute.padStart(2, '0')}`
  const rest = `${dom} ${month} ${dow}`
  if (rest === '* * *' && hour === '*') {
    if (minute === '*') return 'every-minute'
    if (/^\*\/\d+$/.test(minute)) return `every-${minute.slice(2)}m`
    if (num.test(minute)) return minute === '0' ? 'hourly' : `hourly-${minute.padStart(2, '0')}`
  }
  if (num.test(minute) && num.test(hour) && month === '*') {
    if (dom === '*' && dow === '*') return `daily-${hhmm()}`
    if (dom === '*' && dow === '1-5') return `weekdays-${hhmm()}`
    if (dom === '*' && /^[0-7]$/.test(dow)) return `${DAYS[Number(dow)]}-${hhmm()}`
    if (num.test(dom) && dow === '*') return `monthly-${dom}-${hhmm()}`
  }
  return `cron-${createHash('sha1').update(normalizeCron(expression)).digest('hex').slice(0, 6)}`
}

/** One job: its name. Several: their common name prefix (or "jobs") and the schedule's slug. */
function entryName(jobNames: readonly string[], schedule: string): string {
  if (jobNames.length === 1) return kebab(jobNames[0]!)
  const parts = jobNames.map((n) => n.split('_'))
  const common: string[] = []
  for (let i = 0; parts.every((p) => p.length > i + 1 && p[i] === parts[0]![i]); i++) common.push(parts[0]![i]!)
  return `${common.length ? common.join('-') : 'jobs'}-${cronSlug(schedule)}`
}

function uniqueName(wanted: string, used: Set<string>): string {
  const base = kebab(wanted).slice(0, MAX_NAME).replace(/-+$/, '')
  let name = base
  for (let n = 2; used.has(name); n++) name = `${base.slice(0, MAX_NAME - String(n).length - 1).replace(/-+$/, '')}-${n}`
  used.add(name)
  return name
}

const kebab = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
