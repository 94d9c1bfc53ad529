import { sql, type RawBuilder } from 'kysely'
import { EtlError } from '../errors.js'
import { addDays, dayBounds, isValidZone, parseDate, type IsoDate } from '../time/calendar.js'

export type DemoScale = 'small' | 'medium' | 'large'

export interface DemoOptions {
  scale: DemoScale
  seed: number
  /** last demo day (YYYY-MM-DD); the data covers the days before and including it */
  today: string
  timezone: string
}

interface ScaleSize {
  readonly tenants: number
  readonly learners: number
  readonly users: number
  readonly skillsPerSubject: number
  readonly days: number
}

/**
 * Learner-driven tables (sessions, focus events, homework, mastery, recommendations) grow with
 * `learners × days`: about 0.6 sessions per learner and day and 7.3 focus events per session, so
 * medium makes about 1M focus events and large 10M.
 */
export const SCALES: Readonly<Record<DemoScale, ScaleSize>> = {
  small: { tenants: 5, learners: 300, users: 40, skillsPerSubject: 10, days: 14 },
  medium: { tenants: 20, learners: 6_700, users: 900, skillsPerSubject: 20, days: 30 },
  large: { tenants: 50, learners: 67_000, users: 9_000, skillsPerSubject: 40, days: 30 },
}

/** The subjects every scale has; skills hang off them. */
export const SUBJECTS = [
  { code: 'MATH', name: 'Mathematics' },
  { code: 'READ', name: 'Reading and Writing' },
  { code: 'SCI', name: 'Science' },
  { code: 'HIST', name: 'History' },
  { code: 'GEO', name: 'Geography' },
  { code: 'ART', name: 'Art' },
] as const

/**
 * Everything a generator statement needs: the sizes and the demo window `[windowStart,
 * windowEnd)` between local midnights in the zone. Every timestamp is placed relative to the
 * window, never to the clock, so the same `today` gives the same rows on any day.
 */
export interface DemoPlan extends ScaleSize {
  readonly seed: number
  readonly timezone: string
  readonly firstDay: IsoDate
  readonly skills: number
  readonly windowSeconds: number
  /** The window's bounds as SQL timestamptz values. */
  readonly windowStart: RawBuilder<Date>
  readonly windowEnd: RawBuilder<Date>
}

export function planDemo(options: DemoOptions): DemoPlan {
  if (!Object.hasOwn(SCALES, options.scale)) {
    throw new EtlError('USAGE', `demo scale '${options.scale}' is not a size; use small, medium or large`)
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
    throw new EtlError('USAGE', `demo seed '${options.seed}' must be a whole number of 0 or more`)
  }
  if (!isValidZone(options.timezone)) throw new EtlError('CONFIG', `time zone '${options.timezone}' is not an IANA zone`)
  const size = SCALES[options.scale]
  const today = parseDate(options.today, 'demo day')
  const firstDay = addDays(today, -(size.days - 1))
  const from = dayBounds(firstDay, options.timezone).from
  const to = dayBounds(today, options.timezone).to
  return {
    ...size,
    seed: options.seed,
    timezone: options.timezone,
    firstDay,
    skills: size.skillsPerSubject * SUBJECTS.length,
    windowSeconds: (to.getTime() - from.getTime()) / 1000,
    windowStart: sql<Date>`${from.toISOString()}::timestamptz`,
    windowEnd: sql<Date>`${to.toISOString()}::timestamptz`,
  }
}

/** The demo's `k`-th day (0 = firstDay) as an SQL date. */
export function demoDay(plan: DemoPlan, k: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`(${plan.firstDay}::date + ${k})`
}

/**
 * The instant at a wall-clock offset into a local day, in the demo's zone, so sessions happen in
 * the afternoon wherever the tenants are (a time DST skips moves forward, as PostgreSQL does).
 */
export function localTime(plan: DemoPlan, day: RawBuilder<string>, secondsIntoDay: RawBuilder<unknown>): RawBuilder<Date> {
  return sql<Date>`((${day})::timestamp + ${secondsIntoDay}) at time zone ${plan.timezone}::text`
}
