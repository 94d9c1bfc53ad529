import { DateTime } from 'luxon'

/**
 * The one alignment and naming rule of native partitions (migration 0009's
 * nightshift_chunk_start and nightshift_ensure_partitions compute the same in SQL): a chunk of N
 * days starts on a UTC day counted from Monday 1970-01-05, so weekly chunks start on Mondays; a
 * chunk of N months (a year is 12) on the 1st of a month counted from January 1970. A partition
 * is named `<table>_pYYYYMMDD` after its first day. Partitions are found by their bounds, never by
 * name, so those of earlier releases (`price_bars_daily_YYYYMM`, `metrics_time_series_YYYY`) count.
 */
// a named locale: at import, luxon would otherwise ask Intl for the system's (loading ICU) in every command
const DAY_ORIGIN = DateTime.fromISO('1970-01-05', { zone: 'UTC', locale: 'en-US' })

/** What a grain or a retention may say: `7 days`, `1 week`, `3 months`, `2 years`. */
export const GRAIN = /^([1-9]\d{0,3}) (day|days|week|weeks|month|months|year|years)$/

/** A grain in the two units the alignment knows; `sql` is its interval literal. */
export interface Grain {
  readonly unit: 'day' | 'month'
  readonly n: number
  readonly sql: string
}

/** At most this many chunks per call: a stray year-0001 value must not create thousands of tables. */
export const MAX_NEW_PARTITIONS = 2000

/**
 * @example parseGrain('1 week') // { unit: 'day', n: 7, sql: '7 days' }
 */
export function parseGrain(text: string): Grain {
  const match = GRAIN.exec(text.trim())
  if (!match) throw new Error(`'${text}' is not a grain such as '7 days', '1 month' or '1 year'`)
  const n = Number(match[1])
  const unit = match[2]!.replace(/s$/, '')
  if (unit === 'day') return { unit: 'day', n, sql: `${n} days` }
  if (unit === 'week') return { unit: 'day', n: n * 7, sql: `${n * 7} days` }
  if (unit === 'month') return { unit: 'month', n, sql: `${n} months` }
  return { unit: 'month', n: n * 12, sql: `${n * 12} months` }
}

export interface Chunk {
  /** First day of the chunk, YYYY-MM-DD (UTC). */
  readonly from: string
  /** First day after it. */
  readonly to: string
}

export function chunkOf(day: string, grain: Grain): Chunk {
  const d = DateTime.fromISO(day, { zone: 'UTC' })
  if (grain.unit === 'day') {
    const index = Math.floor(d.diff(DAY_ORIGIN, 'days').days / grain.n)
    const from = DAY_ORIGIN.plus({ days: index * grain.n })
    return { from: from.toISODate()!, to: from.plus({ days: grain.n }).toISODate()! }
  }
  const months = (d.year - 1970) * 12 + (d.month - 1)
  const start = Math.floor(months / grain.n) * grain.n
  const from = DateTime.fromObject({ year: 1970 + Math.floor(start / 12), month: (((start % 12) + 12) % 12) + 1, day: 1 }, { zone: 'UTC' })
  return { from: from.toISODate()!, to: from.plus({ months: grain.n }).toISODate()! }
}

/** Every chunk from the one holding `first` to the one holding `last`, both included. */
export function chunksBetween(first: string, last: string, grain: Grain): Chunk[] {
  const chunks: Chunk[] = []
  let current = chunkOf(first, grain)
  const end = chunkOf(last, grain).from
  while (current.from <= end) {
    chunks.push(current)
    if (chunks.length > MAX_NEW_PARTITIONS) {
      throw new Error(`the rows span more than ${MAX_NEW_PARTITIONS} partitions (${first} to ${last}); use a larger grain`)
    }
    current = chunkOf(current.to, grain)
  }
  return chunks
}

/** The name a new partition gets (in its table's schema). */
export function partitionName(table: string, chunk: Chunk): string {
  return `${table.slice(0, 50)}_p${chunk.from.replaceAll('-', '')}`
}
