import type { Kysely } from 'kysely'
import { latestCheckResults } from '../engine/checks/store.js'
import type { Alert, CheckOptions } from './check.js'

/**
 * Data checks that warned (or could not run at warn level) in the last hours and have not passed
 * since: their partitions committed, so nothing else pages for them. An error-level failure is
 * a FAILED run, already a `failed` alert naming the check.
 */
export async function checkResultAlerts(db: Kysely<any>, options: Pick<CheckOptions, 'now' | 'hours'>): Promise<Alert[]> {
  const since = new Date(options.now.getTime() - options.hours * 3_600_000)
  const rows = await latestCheckResults(db, { since, notPassing: true })
  return rows
    .filter((r) => r.status === 'warn' || (r.status === 'error' && r.severity === 'warn'))
    .map((r) => ({
      type: 'check' as const,
      job: r.job_name,
      partition: r.target_date,
      message: `check '${r.check_name}' ${r.status === 'error' ? `could not run: ${r.message}` : `warned: ${r.message ?? `${r.failing_rows} failing rows`}`}${r.sample.length ? `; e.g. ${r.sample.join(', ')}` : ''}`,
      details: { check: r.check_name, severity: r.severity, status: r.status, failingRows: r.failing_rows, sample: r.sample, runId: r.run_id, checkedAt: r.checked_at.toISOString() },
    }))
}
