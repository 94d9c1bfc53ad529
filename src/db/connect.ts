import path from 'node:path'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import type { Database } from './database.js'
import { lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { assertMigrated, migrateUpIfBehind } from './migrate.js'

/**
 * The source and warehouse of one command, opened on first use and closed last-in-first-out in
 * one place. With no URL a role is an embedded PGlite under ETL_DATA_DIR, guarded by a directory
 * lock that the first embedded database takes for the whole process.
 */
export class Connections {
  readonly #config: Config
  readonly #log: Logger
  readonly #opened: Array<{ close(): Promise<void> | void }> = []
  readonly #pending = new Map<string, Promise<Database>>()
  #dirLock: Promise<DataDirLock> | undefined

  constructor(config: Config, log: Logger) {
    this.#config = config
    this.#log = log
  }

  /**
   * The warehouse, migrated. Embedded: pending migrations apply by themselves. On a server they
   * are the operator's call: PENDING_MIGRATIONS (exit 3) unless `migrate` is false.
   */
  warehouse(options: { migrate?: boolean } = {}): Promise<Database> {
    return this.#open('warehouse', async () => {
      const db = await this.#openRole('warehouse', this.#config.warehouseUrl)
      this.#opened.push(db)
      if (options.migrate === false) return db
      if (db.kind === 'pglite') {
        const applied = await migrateUpIfBehind(db, this.#config.warehouseSchema)
        if (applied.length) this.#log.info({ applied }, 'applied migrations to the embedded warehouse')
      } else {
        await assertMigrated(db, this.#config.warehouseSchema)
      }
      return db
    })
  }

  /**
   * The OLTP source, read-only: every transaction on it is `transaction_read_only`, so a job
   * cannot write there by mistake (a hot standby works as well), bounded by
   * ETL_SOURCE_STATEMENT_TIMEOUT when set.
   */
  source(): Promise<Database> {
    return this.#open('oltp', async () => {
      const db = await this.#openRole('oltp', this.#config.oltpUrl)
      this.#opened.push(db)
      return db
    })
  }

  /**
   * The source opened for writing, for `etl demo` to fill. An embedded one then stays open as
   * this command's read-only source (opening a second PGlite on the same folder is not allowed,
   * and opening it again costs a start-up and about 20 MB); a server's pool is closed, and
   * `source()` opens the read-only one.
   */
  async withWritableSource<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    if (this.#pending.has('oltp')) throw new Error('the source is already open read-only in this process')
    const db = await this.#openRole('oltp', this.#config.oltpUrl, { writable: true })
    let kept = false
    try {
      const result = await fn(db)
      if (db.kind === 'pglite') {
        await db.exec(settingsOf('oltp', this.#config, 'session').join('; '))
        this.#opened.push(db)
        this.#pending.set('oltp', Promise.resolve(db))
        kept = true
      }
      return result
    } finally {
      if (!kept) await db.close()
    }
  }

  #open(key: string, opener: () => Promise<Database>): Promise<Database> {
    let pending = this.#pending.get(key)
    if (!pending) {
      pending = opener()
      this.#pending.set(key, pending)
    }
    return pending
  }

  async #openRole(role: 'oltp' | 'warehouse', url: string | undefined, options: { writable?: boolean } = {}): Promise<Database> {
    if (url) {
      const { openPostgres } = await import('./postgres.js')
      return openPostgres({
        url,
        role,
        settings: settingsOf(role, this.#config, 'transaction', options),
        applicationName: role === 'oltp' ? 'nightshift-source' : 'nightshift',
        explain: role === 'oltp' ? explainTimeout(this.#config.sourceStatementTimeoutMs) : undefined,
      })
    }
    this.#dirLock ??= lockDataDir(this.#config.dataDir, this.#config.lockTimeoutMs, { onWait: (message) => this.#log.warn(message) }).then((lock) => {
      this.#opened.push({ close: () => lock.release() })
      return lock
    })
    await this.#dirLock
    const { openPglite } = await import('./pglite.js')
    return openPglite({ dataDir: embeddedDir(this.#config, role), role, settings: settingsOf(role, this.#config, 'session', options) })
  }

  async close(): Promise<void> {
    for (const resource of this.#opened.splice(0).reverse()) {
      try {
        await resource.close()
      } catch (error) {
        this.#log.warn({ err: error }, 'error while closing a connection')
      }
    }
  }
}

/** The folder of a role's embedded database under ETL_DATA_DIR. */
export function embeddedDir(config: Config, role: 'oltp' | 'warehouse'): string {
  return path.join(config.dataDir, role)
}

/**
 * What a role's connections need set: the warehouse schema first on the warehouse's
 * search_path; read-only and the statement bound on the source. On a server they are `set
 * local` in each transaction (poolers); the embedded database has one session of its own.
 */
export function settingsOf(role: 'oltp' | 'warehouse', config: Config, scope: 'transaction' | 'session', options: { writable?: boolean } = {}): string[] {
  const set = scope === 'transaction' ? 'set local' : 'set'
  if (role === 'warehouse') return config.warehouseSchema === 'public' ? [] : [`${set} search_path to "${config.warehouseSchema}", public`]
  if (options.writable) return []
  return [
    scope === 'transaction' ? 'set local transaction_read_only = on' : 'set default_transaction_read_only = on',
    ...(config.sourceStatementTimeoutMs ? [`${set} statement_timeout = ${config.sourceStatementTimeoutMs}`] : []),
  ]
}

/** A source statement cancelled by its bound says which setting cancelled it. */
function explainTimeout(ms: number | undefined): ((error: unknown) => void) | undefined {
  if (!ms) return undefined
  return (error) => {
    const e = error as { code?: unknown; message?: unknown }
    if (e?.code === '57014' && typeof e.message === 'string' && /statement timeout/.test(e.message) && !e.message.includes('ETL_SOURCE_STATEMENT_TIMEOUT')) {
      e.message = `source statement cancelled after ETL_SOURCE_STATEMENT_TIMEOUT=${ms} ms (${e.message})`
    }
  }
}
