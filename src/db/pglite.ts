import { Kysely } from 'kysely'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { identity, parseInt8, TYPE_OIDS, type Database, type Session } from './database.js'
import { PGliteSessionDialect } from './pglite-dialect.js'
import { PGLITE_SETTINGS, pgliteWasmModule, seedFromTemplate } from './pglite-template.js'

export interface PgliteOptions {
  /** Folder of the database files; undefined keeps it in memory (tests). */
  dataDir?: string
  role: Database['role']
  /** Settings for its one session (`set …`): there is no pooler in front of an embedded database. */
  settings?: readonly string[]
}

const STDIN = /\bfrom\s+stdin\b/i
const STDOUT = /\bto\s+stdout\b/i

/**
 * The embedded database: PostgreSQL compiled to WASM, in this process. One session, no real
 * concurrency, and no streaming: COPY goes through a whole in-memory blob, so callers that move
 * large data page it (see `src/io`).
 */
export async function openPglite(options: PgliteOptions): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  if (options.dataDir) seedFromTemplate(options.dataDir)
  const pglite = await PGlite.create({
    dataDir: options.dataDir,
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
    pgliteWasmModule: await pgliteWasmModule(),
    parsers: { [TYPE_OIDS.int8]: parseInt8, [TYPE_OIDS.date]: identity },
  })
  if (options.settings?.length) await pglite.exec(options.settings.join('; '))
  const db = new Kysely<any>({ dialect: new PGliteSessionDialect(pglite) })

  const session: Session = {
    kind: 'pglite',
    db,
    async exec(script) {
      await pglite.exec(script)
    },
    async copyIn(copySql, data) {
      if (!STDIN.test(copySql)) throw new Error(`copyIn needs COPY … FROM STDIN, got: ${copySql}`)
      const blob = new Blob([await buffer(data)])
      const result = await pglite.query(copySql.replace(STDIN, "from '/dev/blob'"), [], { blob })
      return result.affectedRows ?? 0
    },
    async copyOut(copySql) {
      if (!STDOUT.test(copySql)) throw new Error(`copyOut needs COPY … TO STDOUT, got: ${copySql}`)
      const result = await pglite.query(copySql.replace(STDOUT, "to '/dev/blob'"))
      const bytes = result.blob ? Buffer.from(await result.blob.arrayBuffer()) : Buffer.alloc(0)
      return Readable.from([bytes])
    },
  }

  return {
    ...session,
    role: options.role,
    label: options.dataDir ? `pglite:${options.dataDir}` : 'pglite:memory',
    concurrent: false,
    async fields(statement) {
      const result = await pglite.query(statement)
      return result.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID, typmod: -1 }))
    },
    withSession: (fn) => fn(session),
    async close() {
      await db.destroy()
    },
  }
}
