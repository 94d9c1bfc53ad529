import { EtlError } from '../errors.js'
import { addDays, dateOf, nextPeriodStart, periodStart, type IsoDate } from '../time/calendar.js'
import type { PartitionKind, RegisteredJob } from './job.js'

/**
 * Only periods that have ended are run. "Today" is the calendar day of now in ETL_TIMEZONE; a
 * partition has ended when its last day is before today. Today, this week, this month and
 * anything later would be recorded SUCCESS with part of their data and then skipped for good.
 */
export function today(now: Date, zone: string): IsoDate {
  return dateOf(now, zone)
}

/** First day after the partition of `date` for this partition kind. */
export function endOf(date: IsoDate, partition: Exclude<PartitionKind, 'none'>): IsoDate {
  return nextPeriodStart(periodStart(date, partition), partition)
}

export function hasEnded(date: IsoDate, partition: Exclude<PartitionKind, 'none'>, now: Date, zone: string): boolean {
  return endOf(date, partition) <= today(now, zone)
}

/** The latest day whose partition of this kind has ended: yesterday for days, last week's Sunday for weeks. */
export function lastEndedDay(partition: PartitionKind, now: Date, zone: string): IsoDate {
  const t = today(now, zone)
  return addDays(partition === 'none' ? t : periodStart(t, partition), -1)
}

/**
 * BAD_DATE (exit 2) when `date` has not ended, or when it falls in a week or month of one of the
 * jobs that has not ended; nothing is run or recorded.
 */
export function assertEnded(jobs: readonly RegisteredJob[], date: IsoDate, now: Date, zone: string, flag = '--date'): void {
  const t = today(now, zone)
  if (date >= t) {
    throw new EtlError('BAD_DATE', `${flag} ${date} has not ended yet in ${zone} (today is ${t}); the latest day that can run is ${addDays(t, -1)}`)
  }
  for (const job of jobs) {
    if (job.partition === 'none' || job.partition === 'day') continue
    if (!hasEnded(date, job.partition, now, zone)) {
      throw new EtlError(
        'BAD_DATE',
        `${flag} ${date} is in the ${job.partition} of ${periodStart(date, job.partition)}, which has not ended yet (it ends ${addDays(endOf(date, job.partition), -1)}); ${job.name} runs per ${job.partition}`,
      )
    }
  }
}
