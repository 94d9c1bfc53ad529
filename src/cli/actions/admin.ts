import type { Command } from 'commander'
import { listMigrations, migrateDown, migrateUp } from '../../db/migrate.js'
import { EtlError } from '../../errors.js'
import { applyCitusPlan } from '../../storage/citus/apply.js'
import { withContext } from '../context.js'
import { print, table } from '../options.js'

const MIGRATE_ACTIONS = ['up', 'down', 'redo', 'list'] as const

export async function migrate(action: string, command: Command): Promise<void> {
  if (!(MIGRATE_ACTIONS as readonly string[]).includes(action)) {
    throw new EtlError('USAGE', `unknown migrate action '${action}'; use one of ${MIGRATE_ACTIONS.join(', ')}`)
  }
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse({ migrate: false })
    const schema = ctx.config.warehouseSchema
    if (action === 'list') {
      const migrations = await listMigrations(warehouse, schema)
      print(table(['migration', 'applied at'], migrations.map((m) => [m.name, m.executedAt?.toISOString() ?? 'pending'])))
      return
    }
    const done: string[] = []
    if (action === 'down' || action === 'redo') {
      const down = await migrateDown(warehouse, schema)
      done.push(...down.map((n) => `rolled back ${n}`))
    }
    if (action === 'up' || action === 'redo') {
      const up = await migrateUp(warehouse, schema)
      done.push(...up.map((n) => `applied ${n}`))
      // on a Citus coordinator the tables then take their treatment (src/storage/citus/plan.ts);
      // elsewhere this is one catalog read
      const distributed = await applyCitusPlan(warehouse.db, schema, ctx.config.citusShardCount)
      done.push(...(distributed ?? []).map((d) => `citus: ${d.table} made ${d.treatment}`))
    }
    print(done.length ? done.join('\n') : 'nothing to do: the warehouse is up to date')
  })
}
