import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, inject } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { migrateUp } from '../../src/db/migrate.js'
import { openPglite } from '../../src/db/pglite.js'
import { openPostgres } from '../../src/db/postgres.js'

/** Which database this test file runs on: the project's choice, if a server is there for it. */
export function testDbKind(): 'postgres' | 'pglite' {
  return process.env.NS_TEST_DB === 'postgres' && inject('serverUrl') ? 'postgres' : 'pglite'
}

/** Multi-process tests need a server; on PGlite they skip and say so in their name. */
export const hasServer = () => testDbKind() === 'postgres'

/**
 * A fresh warehouse for one test file: its own database on the server (created here, dropped
 * in `drop`), or its own embedded database folder. `env` points a CLI subprocess at it.
 */
export interface TestWarehouse {
  readonly kind: 'postgres' | 'pglite'
  /** Environment for `etl` subprocesses: WAREHOUSE_DATABASE_URL (and OLTP), or ETL_DATA_DIR. */
  readonly env: Record<string, string>
  /** Configuration as the CLI would read it from `env`. */
  readonly config: Config
  /**
   * Opens the warehouse in this process. On PGlite this takes the data directory, so close it
   * before starting an `etl` subprocess on the same folder.
   */
  open(): Promise<Database>
  /**
   * A source database to fill with OLTP tables: the same database on a server (separate
   * connections), a second embedded database on PGlite, since one PGlite session cannot read a
   * source while the run's transaction holds it.
   */
  openSource(): Promise<Database>
  drop(): Promise<void>
}

export async function createTestWarehouse(options: { migrate?: boolean } = {}): Promise<TestWarehouse> {
  const kind = testDbKind()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-test-'))
  if (kind === 'postgres') {
    const serverUrl = inject('serverUrl')
    const name = `ns_test_${randomBytes(6).toString('hex')}`
    await adminQuery(serverUrl, `create database ${name}`)
    const url = withDatabase(serverUrl, name)
    const env = { WAREHOUSE_DATABASE_URL: url, OLTP_DATABASE_URL: url, ETL_DATA_DIR: tmp }
    const warehouse: TestWarehouse = {
      kind,
      env,
      config: loadConfig({ ...env }),
      open: () => openPostgres({ url, role: 'test' }),
      openSource: () => openPostgres({ url, role: 'test' }),
      async drop() {
        await adminQuery(serverUrl, `drop database if exists ${name} with (force)`)
        fs.rmSync(tmp, { recursive: true, force: true })
      },
    }
    return prepared(warehouse, options)
  }
  const env = { ETL_DATA_DIR: tmp }
  const warehouse: TestWarehouse = {
    kind,
    env,
    config: loadConfig({ ...env }),
    open: () => openPglite({ dataDir: path.join(tmp, 'warehouse'), role: 'warehouse' }),
    openSource: () => openPglite({ dataDir: path.join(tmp, 'oltp'), role: 'oltp' }),
    async drop() {
      fs.rmSync(tmp, { recursive: true, force: true })
    },
  }
  return prepared(warehouse, options)
}

async function prepared(warehouse: TestWarehouse, options: { migrate?: boolean }): Promise<TestWarehouse> {
  if (options.migrate !== false) {
    const db = await warehouse.open()
    await migrateUp(db, 'public')
    await db.close()
  }
  return warehouse
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/**
 * Gives a test file its own warehouse and source for all its tests: created before the first,
 * closed and dropped after the last. The callback hands them to the file's variables.
 *
 * @example
 * let db: Database, src: Database, tw: TestWarehouse
 * useTestDatabases((t) => ({ tw, db, src } = t))
 */
export function useTestDatabases(assign: (t: { tw: TestWarehouse; db: Database; src: Database }) => void): void {
  let opened: { tw: TestWarehouse; db: Database; src: Database } | undefined
  beforeAll(async () => {
    const tw = await createTestWarehouse()
    opened = { tw, db: await tw.open(), src: await tw.openSource() }
    assign(opened)
  })
  afterAll(async () => {
    await opened?.src.close()
    await opened?.db.close()
    await opened?.tw.drop()
  })
}

/**
 * A test file's own warehouse for tests that also run `etl` subprocesses: it is opened in this
 * process only inside `withWarehouse`, since on PGlite a subprocess may not share the folder.
 *
 * @example
 * let tw: TestWarehouse
 * const withWarehouse = useSubprocessWarehouse((t) => (tw = t))
 */
export function useSubprocessWarehouse(assign: (tw: TestWarehouse) => void): <T>(fn: (db: Database) => Promise<T>) => Promise<T> {
  let tw: TestWarehouse | undefined
  beforeAll(async () => {
    tw = await createTestWarehouse()
    assign(tw)
  })
  afterAll(async () => {
    await tw?.drop()
  })
  return async (fn) => {
    const db = await tw!.open()
    try {
      return await fn(db)
    } finally {
      await db.close()
    }
  }
}
