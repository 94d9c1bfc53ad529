import { DateTime, IANAZone, Settings } from 'luxon'
import { EtlError } from '../errors.js'

/**
 * Calendar arithmetic in a zone. A "date" is a calendar day written YYYY-MM-DD; its bounds are
 * the half-open instant range `[start of day, start of next day)` in the zone, which is 23 or 25
 * hours long on a DST change. SQL compares `>= from and < to`, never `between`.
 */
export type IsoDate = string

export interface Bounds {
  readonly from: Date
  readonly to: Date
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

// nightshift speaks English: its dates and times are formatted in en-US, whatever the machine's
// locale. Named, it spares luxon asking Intl for the system's, whose first use loads ICU (~25 ms
// of every cron tick); with ETL_TIMEZONE=UTC a no-op run then needs no Intl at all. The bundle has
// luxon to itself, so this touches no other code's luxon.
Settings.defaultLocale = 'en-US'

export function isValidZone(zone: string): boolean {
  // luxon computes UTC itself; any other zone is Intl's to know
  return zone === 'UTC' || IANAZone.isValidZone(zone)
}

function day(date: IsoDate, zone: string): DateTime {
  return DateTime.fromISO(date, { zone })
}

/**
 * Validates a YYYY-MM-DD calendar day. 2025-02-30, 15/01/2025 and 2025-1-5 are BAD_DATE (exit 2).
 *
 * @example parseDate('2025-01-15') // '2025-01-15'
 */
export function parseDate(input: string, what = '--date'): IsoDate {
  const match = ISO_DATE.exec(input)
  if (!match) {
    throw new EtlError('BAD_DATE', `${what} '${input}' is not a date; write it as YYYY-MM-DD, for example 2025-01-15`)
  }
  const parsed = DateTime.fromObject(
    { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) },
    { zone: 'UTC' },
  )
  if (!parsed.isValid) {
    throw new EtlError('BAD_DATE', `${what} '${input}' is not a calendar day`)
  }
  return input
}

/** Validates YYYY-MM and returns the month's first day. */
export function parseMonth(input: string, what = '--month'): IsoDate {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(input)) {
    throw new EtlError('BAD_DATE', `${what} '${input}' is not a month; write it as YYYY-MM, for example 2025-01`)
  }
  return `${input}-01`
}

/** The day before `now` in the zone: the default `--date`. */
export function yesterday(now: Date, zone: string): IsoDate {
  return DateTime.fromJSDate(now, { zone }).minus({ days: 1 }).toISODate()!
}

/** The calendar day an instant falls on in the zone. */
export function dateOf(instant: Date, zone: string): IsoDate {
  return DateTime.fromJSDate(instant, { zone }).toISODate()!
}

export function dayBounds(date: IsoDate, zone: string): Bounds {
  // the next day's own start, not start + 1 day: where DST skips midnight (Santiago, Cairo)
  // a day starts at 01:00 and adding a day would keep that wall time
  return { from: day(date, zone).startOf('day').toJSDate(), to: day(addDays(date, 1), zone).startOf('day').toJSDate() }
}

/** Hours in a day: 24, or 23/25 on a DST change. */
export function hoursInDay(date: IsoDate, zone: string): number {
  const { from, to } = dayBounds(date, zone)
  return (to.getTime() - from.getTime()) / 3_600_000
}

/** YYYYMMDD as an integer, the warehouse's `date_key`. */
export function dateKey(date: IsoDate): number {
  return Number(date.replaceAll('-', ''))
}

export function addDays(date: IsoDate, days: number): IsoDate {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate()!
}

/** Monday of the ISO week that holds the date. */
export function weekStart(date: IsoDate): IsoDate {
  return DateTime.fromISO(date, { zone: 'UTC' }).startOf('week').toISODate()!
}

export function monthStart(date: IsoDate): IsoDate {
  return DateTime.fromISO(date, { zone: 'UTC' }).startOf('month').toISODate()!
}

export function quarterStart(date: IsoDate): IsoDate {
  return DateTime.fromISO(date, { zone: 'UTC' }).startOf('quarter').toISODate()!
}

export function yearStart(date: IsoDate): IsoDate {
  return DateTime.fromISO(date, { zone: 'UTC' }).startOf('year').toISODate()!
}

export type Period = 'day' | 'week' | 'month'

/** First day of the period after the one starting at `start`. */
export function nextPeriodStart(start: IsoDate, period: Period): IsoDate {
  const unit = period === 'day' ? 'days' : period === 'week' ? 'weeks' : 'months'
  return DateTime.fromISO(start, { zone: 'UTC' }).plus({ [unit]: 1 }).toISODate()!
}

/** The period's first day for any day inside it. */
export function periodStart(date: IsoDate, period: Period): IsoDate {
  return period === 'day' ? date : period === 'week' ? weekStart(date) : monthStart(date)
}

/** `[first day 00:00, first day of next period 00:00)` in the zone. */
export function periodBounds(start: IsoDate, period: Period, zone: string): Bounds {
  return {
    from: dayBounds(start, zone).from,
    to: dayBounds(nextPeriodStart(start, period), zone).from,
  }
}

/**
 * Every day from `from` to `to`, both included. A reversed range is BAD_RANGE (exit 2).
 *
 * @example dateRange('2025-01-30', '2025-02-02') // ['2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02']
 */
export function dateRange(from: IsoDate, to: IsoDate): IsoDate[] {
  parseDate(from, '--from')
  parseDate(to, '--to')
  if (from > to) {
    throw new EtlError('BAD_RANGE', `--from ${from} is after --to ${to}; swap them`)
  }
  const days: IsoDate[] = []
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d)
  return days
}
