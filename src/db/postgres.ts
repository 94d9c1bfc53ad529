import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { EtlError } from '../errors.js'
import { redact } from '../redact.js'
import { pinToTransactions } from './per-transaction.js'
import { identity, parseInt8, TYPE_OIDS, type Database, type Session } from './database.js'

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TYPE_OIDS.int8) return parseInt8
    // pg would turn a date into a JS Date at local midnight; a day is a day
    if (oid === TYPE_OIDS.date) return identity
    return pg.types.getTypeParser(oid, format as 'text')
  },
}

/** The URL without its password, for messages. */
export function labelOf(url: string): string {
  try {
    const u = new URL(url)
    return `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`
  } catch {
    return 'postgres://(unparsable url)'
  }
}

export interface PostgresOptions {
  url: string
  role: Database['role']
  /**
   * `set local …` statements every transaction starts with (search_path, read-only, timeouts):
   * per transaction, so they hold through a transaction-pooling proxy. See per-transaction.ts.
   */
  settings?: readonly string[]
  /** Rewrites a statement's error in place, to say why (a source statement over its time bound). */
  explain?: (error: unknown) => void
  /** Shown in pg_stat_activity; a startup parameter PgBouncer passes on. */
  applicationName?: string
  max?: number
}

const ENV_OF_ROLE = { oltp: 'OLTP_DATABASE_URL', warehouse: 'WAREHOUSE_DATABASE_URL', test: 'TEST_DATABASE_URL' }

/** PostgreSQL through a pg pool. Connects once up front so an unreachable server fails here (exit 3). */
export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const label = labelOf(options.url)
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'nightshift',
    types,
  })
  pool.on('connect', (client) => pinToTransactions(client, options.settings ?? [], options.explain))
  // an idle client losing its server must not crash the process; the next query reports it
  pool.on('error', () => {})
  try {
    ;(await pool.connect()).release()
  } catch (error) {
    await pool.end().catch(() => {})
    throw new EtlError(
      'DB_UNREACHABLE',
      `cannot reach the ${options.role} database at ${label}: ${redact((error as Error).message)}; check ${ENV_OF_ROLE[options.role]} and that the server is up`,
      { cause: error },
    )
  }
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })

  // A checked-out client whose server goes away (a restart, pg_terminate_backend) emits 'error'
  // besides failing its query; unheard, that event would crash the process with a stack trace.
  const connect = async (): Promise<pg.PoolClient> => {
    const client = await pool.connect()
    if (client.listenerCount('error') === 0) client.on('error', () => {})
    return client
  }

  const withClient = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await connect()
    try {
      return await fn(client)
    } finally {
      client.release()
    }
  }

  return {
    kind: 'postgres',
    role: options.role,
    label,
    db,
    concurrent: true,
    exec: (script) => withClient((client) => execOn(client, script)),
    async fields(statement) {
      const result = await pool.query(statement)
      return result.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID, typmod: f.dataTypeModifier }))
    },
    copyIn: (copySql, data) => withClient((client) => copyInOn(client, copySql, data)),
    async copyOut(copySql) {
      const client = await connect()
      const stream = await copyOutOn(client, copySql)
      // a COPY stopped before its end (the warehouse refused a row) leaves the client in COPY
      // mode and the server's query running, with its locks: such a client is closed, not pooled
      let ended = false
      stream.once('end', () => (ended = true))
      stream.once('close', () => client.release(ended ? undefined : new Error('COPY TO STDOUT stopped before its end')))
      return stream
    },
    async withSession(fn) {
      const client = await connect()
      // kysely releases after each query; the session keeps the client until the callback ends
      const release = client.release
      client.release = () => {}
      const sessionDb = new Kysely<any>({
        dialect: new PostgresDialect({ pool: { connect: async () => client, end: async () => {} } as never }),
      })
      let broken: Error | undefined
      try {
        return await fn(sessionOf(client, sessionDb))
      } catch (error) {
        // a connection that died mid-run must not go back to the pool
        if (isBrokenConnection(error)) broken = error as Error
        throw error
      } finally {
        client.release = release
        client.release(broken)
      }
    },
    async close() {
      await db.destroy()
    },
  }
}

function sessionOf(client: pg.PoolClient, db: Kysely<any>): Session {
  return {
    kind: 'postgres',
    db,
    exec: (script) => execOn(client, script),
    copyIn: (copySql, data) => copyInOn(client, copySql, data),
    copyOut: (copySql) => copyOutOn(client, copySql),
    cancel: () => cancelOn(client),
  }
}

/**
 * The protocol's CancelRequest on a new socket, with the key the server (or the pooler) gave this
 * connection. Not `pg_cancel_backend` through the pool: behind PgBouncer every server connection
 * may be lent to runs waiting on the statement to cancel.
 */
async function cancelOn(client: pg.PoolClient): Promise<void> {
  const { processID, secretKey, host, port } = client as unknown as { processID: number | null; secretKey: number | null; host: string; port: number }
  if (processID === null || secretKey === null) return
  const request = Buffer.alloc(16)
  request.writeInt32BE(16, 0)
  request.writeInt32BE(80877102, 4) // the CancelRequest code
  request.writeInt32BE(processID, 8)
  request.writeInt32BE(secretKey, 12)
  const { connect } = await import('node:net')
  await new Promise<void>((resolve) => {
    const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host)
    socket.setTimeout(5000, () => socket.destroy())
    // written, then left for the other side to close, as libpq does: PgBouncer 1.18 dies
    // (`bad client state`) when the client hangs up before it has forwarded the cancel
    socket.once('connect', () => socket.write(request))
    socket.once('end', () => socket.destroy())
    socket.once('error', () => resolve())
    socket.once('close', () => resolve())
  })
}

async function execOn(client: pg.ClientBase, script: string): Promise<void> {
  await client.query(script)
}

async function copyInOn(client: pg.ClientBase, copySql: string, data: Readable): Promise<number> {
  const { from } = await import('pg-copy-streams')
  const sink = client.query(from(copySql))
  await pipeline(data, sink)
  return Number(sink.rowCount ?? 0)
}

async function copyOutOn(client: pg.ClientBase, copySql: string): Promise<Readable> {
  const { to } = await import('pg-copy-streams')
  return client.query(to(copySql))
}

/** A lost connection, also when wrapped (the runner reports it as an EtlError whose cause it is). */
function isBrokenConnection(error: unknown): boolean {
  for (let e = error as { code?: string; message?: string; cause?: unknown } | null; e; e = e.cause as typeof e) {
    if (e.code === 'ECONNRESET' || e.code === '57P01' || /Connection terminated|connection error|discarded/i.test(String(e.message))) return true
  }
  return false
}
