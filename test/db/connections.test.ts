import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { Connections } from '../../src/db/connect.js'
import { runJob } from '../../src/engine/runner.js'
import { silentLogger } from '../../src/log.js'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, hasServer, type TestWarehouse } from '../helpers/db.js'
import { PGBOUNCER, startPgBouncer, type Bouncer } from '../helpers/pgbouncer.js'
import { customJob, runEnvFor } from '../helpers/run-env.js'

/**
 * What nightshift's connections carry: a read-only source with its own application_name and an
 * optional statement bound, a warehouse schema that holds through a transaction-pooling
 * PgBouncer, and an unreachable source that stops the command with exit 3.
 */
let tw: TestWarehouse

beforeAll(async () => {
  tw = await createTestWarehouse()
})

afterAll(async () => {
  await tw?.drop()
})

/** Runs one job through the runner with the command's own connections (as the CLI opens them). */
async function withConnections<T>(env: Record<string, string>, fn: (connections: Connections, config: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  const config = loadConfig({ ...tw.env, ...env })
  const connections = new Connections(config, silentLogger)
  try {
    return await fn(connections, config)
  } finally {
    await connections.close()
  }
}

async function runOnSource(env: Record<string, string>, work: (source: Awaited<ReturnType<Connections['source']>>) => Promise<unknown>) {
  return withConnections(env, async (connections, config) => {
    const warehouse = await connections.warehouse()
    const runEnv = { ...runEnvFor(warehouse, config), source: () => connections.source() }
    return runJob(runEnv, { job: customJob('fx_source_write', async (ctx) => void (await work(await ctx.source()))), date: '2025-01-15', force: true })
  })
}

describe('the source connection', () => {
  it('refuses a write, in a statement of its own or in a transaction: the run is FAILED', async () => {
    const alone = await runOnSource({}, (source) => source.exec('create table fx_not_here (i int)'))
    expect(alone.status).toBe('FAILED')
    expect(alone.message).toMatch(/read-only transaction/)
    // with a statement bound as well: both settings in each transaction
    const inTransaction = await runOnSource({ ETL_SOURCE_STATEMENT_TIMEOUT: '60000' }, (source) =>
      source.db.transaction().execute(async (trx) => trx.executeQuery({ sql: 'create table fx_not_here (i int)', parameters: [], query: { kind: 'RawNode' } } as never)),
    )
    expect(inTransaction.status).toBe('FAILED')
    expect(inTransaction.message).toMatch(/read-only transaction/)
  })

  it('refuses writes after etl demo filled it (embedded: the same database, kept open instead of opened twice)', async () => {
    await withConnections({}, async (connections) => {
      let filled: unknown
      await connections.withWritableSource(async (db) => {
        filled = db
        await db.exec('create table if not exists fx_filled (i int)')
      })
      const source = await connections.source()
      if (source.kind === 'pglite') expect(source).toBe(filled)
      await expect(source.exec('insert into fx_filled values (1)')).rejects.toThrow(/read-only transaction/)
    })
  })

  it('keeps refusing writes on a connection right after a COPY out of the source', async () => {
    await withConnections({}, async (connections) => {
      const source = await connections.source()
      await source.withSession(async (session) => {
        const stream = await session.copyOut('copy (select g from generate_series(1, 3) g) to stdout')
        let text = ''
        for await (const chunk of stream) text += chunk
        expect(text).toBe('1\n2\n3\n')
        await expect(session.exec('create table fx_not_here (i int)')).rejects.toThrow(/read-only transaction/)
      })
    })
  })

  it.runIf(hasServer())('names itself nightshift-source in pg_stat_activity [server only]', async () => {
    await withConnections({}, async (connections) => {
      const source = await connections.source()
      const { rows } = await (await import('kysely')).sql<{ name: string }>`select current_setting('application_name') as name`.execute(source.db)
      expect(rows[0]!.name).toBe('nightshift-source')
    })
  })

  it.runIf(hasServer())('cancels a source statement past ETL_SOURCE_STATEMENT_TIMEOUT: FAILED with that reason [server only]', async () => {
    const slow = await runOnSource({ ETL_SOURCE_STATEMENT_TIMEOUT: '200' }, (source) => source.exec('select pg_sleep(3)'))
    expect(slow.status).toBe('FAILED')
    expect(slow.message).toMatch(/source statement cancelled after ETL_SOURCE_STATEMENT_TIMEOUT=200 ms/)
    expect(slow.durationMs).toBeLessThan(2500)
    // without the variable nothing is bounded
    expect((await runOnSource({}, (source) => source.exec('select pg_sleep(0.3)'))).status).toBe('SUCCESS')
  })

  it('an unreachable source is exit 3, one line naming it without the password, and one FAILED row', async () => {
    const result = await etl(['run', '--date', '2025-01-15'], { ...tw.env, OLTP_DATABASE_URL: 'postgres://etl:s3cretPassw0rd@127.0.0.1:1/oltp' })
    expect(result.code, result.stderr).toBe(3)
    expect(result.stderr).not.toContain('s3cretPassw0rd')
    const lines = errorLines(result.stderr)
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/cannot reach the oltp database at postgres:\/\/etl@127\.0\.0\.1:1\/oltp/)
    const status = JSON.parse((await etl(['status', '--json'], tw.env)).stdout) as Array<{ job_name: string; status: string; error_message: string }>
    const failed = status.filter((r) => r.status === 'FAILED' && r.job_name !== 'fx_source_write')
    expect(failed).toHaveLength(1)
    expect(failed[0]!.error_message).toMatch(/cannot reach the oltp database/)
    expect(failed[0]!.error_message).not.toContain('s3cretPassw0rd')
  })

  it('exits 3 on a malformed ETL_SOURCE_STATEMENT_TIMEOUT, naming it', async () => {
    const result = await etl(['status'], { ...tw.env, ETL_SOURCE_STATEMENT_TIMEOUT: '5s' })
    expect(result.code).toBe(3)
    expect(errorLines(result.stderr)).toHaveLength(1)
    expect(errorLines(result.stderr)[0]).toMatch(/ETL_SOURCE_STATEMENT_TIMEOUT must be a whole number of milliseconds/)
  })
})

describe.runIf(hasServer() && PGBOUNCER)('through a transaction-pooling PgBouncer [server and pgbouncer only]', () => {
  let bouncer: Bouncer
  let fresh: TestWarehouse
  let url: string

  beforeAll(async () => {
    bouncer = await startPgBouncer(inject('serverUrl'), { poolSize: 2 })
    fresh = await createTestWarehouse({ migrate: false })
    url = bouncer.url(fresh.env.WAREHOUSE_DATABASE_URL!)
  })

  afterAll(async () => {
    await fresh?.drop()
    await bouncer?.stop()
  })

  it('a run with ETL_WAREHOUSE_SCHEMA writes into that schema and nothing into public', async () => {
    const env = { ...fresh.env, WAREHOUSE_DATABASE_URL: url, OLTP_DATABASE_URL: url, ETL_WAREHOUSE_SCHEMA: 'ns_wh' }
    const migrated = await etl(['migrate', 'up'], env)
    expect(migrated.code, migrated.stderr).toBe(0)
    const run = await etl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], env)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/fx_write\s+2025-01-15\s+SUCCESS\s+100/)
    const status = await etl(['status', '--json'], env)
    expect(JSON.parse(status.stdout)).toHaveLength(1)

    const client = new pg.Client({ connectionString: fresh.env.WAREHOUSE_DATABASE_URL })
    await client.connect()
    try {
      const tables = await client.query<{ schema: string; name: string }>(
        `select table_schema as schema, table_name as name from information_schema.tables where table_schema in ('public', 'ns_wh') order by 1, 2`,
      )
      expect(tables.rows.filter((t) => t.schema === 'public')).toEqual([])
      expect(tables.rows.map((t) => t.name)).toEqual(expect.arrayContaining(['etl_job_runs', 'fx_cli', 'kysely_migration']))
      const rows = await client.query<{ n: number }>('select count(*)::int as n from ns_wh.fx_cli')
      expect(rows.rows[0]!.n).toBe(100)
    } finally {
      await client.end()
    }
  })

  it('the source refuses a write through the bouncer too', async () => {
    const failed = await runOnSource({ OLTP_DATABASE_URL: url }, (source) => source.exec('create table fx_not_here (i int)'))
    expect(failed.status).toBe('FAILED')
    expect(failed.message).toMatch(/read-only transaction/)
  })
})
