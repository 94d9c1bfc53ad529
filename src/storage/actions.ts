import type { Command } from 'commander'
import { withContext } from '../cli/context.js'
import { print, table } from '../cli/options.js'
import { EtlError } from '../errors.js'
import { parseRetention, readPolicies, setRetention } from './policy.js'
import { expiredOf } from './retention.js'

/** `etl storage [--json]` and `etl storage set-retention TABLE INTERVAL|forever`. */
export async function storage(options: { action?: string; table?: string; retention?: string; json?: boolean }, command: Command): Promise<void> {
  const { action, table: name, retention } = options
  if (action !== undefined && action !== 'set-retention') {
    throw new EtlError('USAGE', `unknown storage action '${action}'; use 'etl storage' to list the policies or 'etl storage set-retention TABLE INTERVAL'`)
  }
  if (action === 'set-retention' && (name === undefined || retention === undefined)) {
    throw new EtlError('USAGE', "storage set-retention needs a table and a retention: etl storage set-retention TABLE INTERVAL|forever")
  }
  // checked before any connection: a bad value is exit 2 whatever the database
  const keep = action === 'set-retention' ? parseRetention(retention!) : undefined
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse()
    if (action === 'set-retention') {
      const policy = await setRetention(warehouse.db, name!, keep ?? null, ctx.now())
      const owner = policy.jobName && policy.jobName !== 'populate_tenant_time_series' ? `; the job file of ${policy.jobName} sets it again on its next run if it says another` : ''
      print(`retention of ${policy.table} set to ${policy.retention ?? 'forever'}: the daily retention job drops its partitions wholly older than that${owner}`)
      return
    }
    const now = ctx.now()
    const rows = []
    for (const p of await readPolicies(warehouse.db)) {
      const expired = await expiredOf(warehouse.db, p, now)
      rows.push({ table: p.table, time_column: p.timeColumn, grain: p.grain, retention: p.retention, mode: p.mode, job: p.jobName, past_retention: expired.names.length, past_retention_rows: expired.rows })
    }
    if (options.json) return print(JSON.stringify(rows))
    if (rows.length === 0) return print("no time-partitioned tables yet: run 'etl migrate up'")
    print(
      table(
        ['table', 'column', 'grain', 'retention', 'mode', 'job', 'past retention'],
        rows.map((r) => [r.table, r.time_column, r.grain, r.retention ?? 'forever', r.mode, r.job ?? '-', r.retention ? `${r.past_retention} (${r.past_retention_rows} rows)` : '-']),
      ),
    )
  })
}
