import { afterAll, beforeAll } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { builtinJobsDir } from '../../src/paths.js'
import { createTestWarehouse, type TestWarehouse } from './db.js'

export interface SeriesWarehouse {
  tw: TestWarehouse
  db: Database
  registry: JobRegistry
}

/**
 * The tenant series tests' warehouse: migrated, the built-in jobs, and a bare `dim_tenant` the
 * series read their tenants from (no dimension sync needed). `ready` gets it once it is made.
 */
export function useSeriesWarehouse(ready: (w: SeriesWarehouse) => void): void {
  let w: SeriesWarehouse | undefined
  beforeAll(async () => {
    const tw = await createTestWarehouse()
    const db = await tw.open()
    w = { tw, db, registry: await loadRegistry([builtinJobsDir]) }
    await db.exec(`create table dim_tenant (tenant_key bigint generated always as identity, id bigint, name text,
      is_active boolean, is_current boolean, is_deleted boolean not null default false)`)
    ready(w)
  })
  afterAll(async () => {
    await w?.db.close()
    await w?.tw.drop()
  })
}
