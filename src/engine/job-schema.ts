import { z } from 'zod'
import { isValidZone } from '../time/calendar.js'
import { ChecksSchema } from './checks/schema.js'

export const JOB_NAME = /^[a-z][a-z0-9_]{0,62}$/

// five fields of digits, *, ranges, lists and steps: enough to refuse typos, not a cron parser
const CRON_FIELD = String.raw`(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*`
const CRON = new RegExp(`^${CRON_FIELD}(\\s+${CRON_FIELD}){4}$`)

/** The fields every job file shares. Kinds add theirs (src/kinds). */
export const JobCommonSchema = z.looseObject({
  /** Checked against the kinds table by the registry. */
  kind: z.string(),
  name: z.string().regex(JOB_NAME, 'must be lower_snake_case, starting with a letter').optional(),
  description: z.string().optional(),
  schedule: z.string().trim().regex(CRON, 'must be a five-field cron expression such as "0 2 * * *"').optional(),
  timezone: z.string().refine(isValidZone, 'must be an IANA time zone such as America/New_York').optional(),
  dependsOn: z.array(z.string().regex(JOB_NAME, 'must name a job')).optional(),
  partition: z.enum(['day', 'week', 'month', 'none']).optional(),
  pipeline: z.boolean().optional(),
  deadline: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day written HH:MM, such as '06:00'").optional(),
  checks: ChecksSchema.optional(),
})

/** `dependsOn[0]`-style path of a zod issue. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  )
}
