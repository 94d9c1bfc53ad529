import { sql, type Kysely, type Transaction } from 'kysely'
import { upsertFromStaging } from '../../src/kinds/table-sync/upsert.js'

type Counts = Awaited<ReturnType<typeof upsertFromStaging>>

/**
 * What `upsertFromStaging` counts with `track_counts` on (the transaction's counters) and off (the
 * count of existing keys first), each in a transaction rolled back after it, so both see the same
 * target. `fill` puts the rows into the temp table `staged`, made with the target's columns.
 */
export async function upsertCountsBothWays(
  db: Kysely<any>,
  options: Omit<Parameters<typeof upsertFromStaging>[1], 'staging'>,
  fill: (trx: Transaction<any>) => Promise<unknown>,
): Promise<{ on: Counts; off: Counts }> {
  const counts: Partial<Record<'on' | 'off', Counts>> = {}
  const rolledBack = new Error('rolled back')
  for (const counting of ['on', 'off'] as const) {
    const run = db.transaction().execute(async (trx) => {
      await sql`select set_config('track_counts', ${counting}, true)`.execute(trx)
      await sql`create temp table staged on commit drop as select * from ${sql.table(options.target)} where false`.execute(trx)
      await fill(trx)
      counts[counting] = await upsertFromStaging(trx, { ...options, staging: 'staged' })
      throw rolledBack
    })
    await run.then(
      () => Promise.reject(new Error('the transaction was not rolled back')),
      (error: unknown) => (error === rolledBack ? undefined : Promise.reject(error)),
    )
  }
  return { on: counts.on!, off: counts.off! }
}
