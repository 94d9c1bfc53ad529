import path from 'node:path'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import type { Database } from './database.js'
import { lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { assertMigrated, migrateUp } from './migrate.js'

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

  get warehouseSearchPath(): string {
    const schema = this.#config.warehouseSchema
    return schema === 'public' ? 'public' : `"${schema}", public`
  }

  /**
   * The warehouse, migrated. Embedded: pending migrations apply by themselves. On a server they
   * are the operator's call: PENDING_MIGRATIONS (exit 3) unless `migrate` is false.
   */
  warehouse(options: { migrate?: boolean } = {}): Promise<Database> {
    return this.#open('warehouse', async () => {
      const db = await this.#openRole('warehouse', this.#config.warehouseUrl)
      if (options.migrate === false) return db
      if (db.kind === 'pglite') {
        const applied = await migrateUp(db, this.#config.warehouseSchema)
        if (applied.length) this.#log.info({ applied }, 'applied migrations to the embedded warehouse')
      } else {
        await assertMigrated(db, this.#config.warehouseSchema)
      }
      return db
    })
  }

  /** The OLTP source, read-only by convention. */
  source(): Promise<Database> {
    return this.#open('oltp', () => this.#openRole('oltp', this.#config.oltpUrl))
  }

  #open(key: string, opener: () => Promise<Database>): Promise<Database> {
    let pending = this.#pending.get(key)
    if (!pending) {
      pending = opener()
      this.#pending.set(key, pending)
    }
    return pending
  }

  async #openRole(role: 'oltp' | 'warehouse', url: string | undefined): Promise<Database> {
    const searchPath = role === 'warehouse' ? this.warehouseSearchPath : undefined
    if (url) {
      const { openPostgres } = await import('./postgres.js')
      const db = await openPostgres({ url, role, searchPath })
      this.#opened.push(db)
      return db
    }
    this.#dirLock ??= lockDataDir(this.#config.dataDir, this.#config.lockTimeoutMs, { onWait: (message) => this.#log.warn(message) }).then((lock) => {
      this.#opened.push({ close: () => lock.release() })
      return lock
    })
    await this.#dirLock
    const { openPglite } = await import('./pglite.js')
    const db = await openPglite({ dataDir: path.join(this.#config.dataDir, role), role, searchPath })
    this.#opened.push(db)
    return db
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
