import { text } from 'node:stream/consumers'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { readServiceAccount, serviceAccountTokens } from '../../src/kinds/table-sync/bigquery/auth.js'
import { BigQueryClient } from '../../src/kinds/table-sync/bigquery/client.js'
import { bigquerySourceWith, clientFromConfig } from '../../src/kinds/table-sync/bigquery/source.js'
import { copyText, parameterValue, postgresType, timestampText, type BigQueryField } from '../../src/kinds/table-sync/bigquery/types.js'
import { startFakeBigQuery, type FakeBigQuery } from '../helpers/fake-bigquery.js'

describe('BigQuery rows in PostgreSQL terms', () => {
  it('maps column types, repeated and nested ones to jsonb', () => {
    const f = (type: string, mode?: BigQueryField['mode']): BigQueryField => ({ name: 'c', type, mode })
    expect(['INTEGER', 'INT64', 'FLOAT', 'NUMERIC', 'BOOLEAN', 'STRING', 'BYTES', 'DATE', 'DATETIME', 'TIMESTAMP', 'TIME', 'JSON'].map((t) => postgresType(f(t)))).toEqual([
      'bigint', 'bigint', 'double precision', 'numeric', 'boolean', 'text', 'bytea', 'date',
      'timestamp without time zone', 'timestamp with time zone', 'time without time zone', 'jsonb',
    ])
    expect(postgresType(f('STRING', 'REPEATED'))).toBe('jsonb')
    expect(postgresType(f('RECORD'))).toBe('jsonb')
    expect(postgresType({ name: 'r', type: 'RANGE', rangeElementType: { type: 'DATETIME' } })).toBe('tsrange')
    expect(postgresType({ name: 'r', type: 'RANGE', rangeElementType: { type: 'TIMESTAMP' } })).toBe('tstzrange')
    expect(() => postgresType(f('GEOMETRY'))).toThrow(/cannot map; cast it in a source query/)
  })

  it('writes cells as COPY text: timestamps in UTC with microseconds, bytes as hex, escapes, nulls', () => {
    expect(timestampText('1700000000123456')).toBe('2023-11-14 22:13:20.123456+00')
    expect(timestampText('1.7000000001E9')).toBe('2023-11-14 22:13:20.100000+00')
    expect(timestampText('-1')).toBe('1969-12-31 23:59:59.999999+00')
    // picosecond columns come as ISO strings, more than 6 fractional digits
    expect(timestampText('2025-03-01T10:00:00.123456789012Z')).toBe('2025-03-01 10:00:00.123456789012+00')
    expect(() => timestampText('soon')).toThrow(/neither microseconds, seconds nor an ISO 8601 time/)
    expect(copyText({ name: 'b', type: 'BYTES' }, Buffer.from([0xde, 0xad]).toString('base64'))).toBe('\\\\xdead')
    expect(copyText({ name: 's', type: 'STRING' }, 'a\tb\nc\\d')).toBe('a\\tb\\nc\\\\d')
    expect(copyText({ name: 's', type: 'STRING' }, null)).toBe('\\N')
    expect(copyText({ name: 't', type: 'STRING', mode: 'REPEATED' }, [{ v: 'x' }, { v: 'y' }])).toBe('["x","y"]')
    const record: BigQueryField = { name: 'r', type: 'RECORD', fields: [{ name: 'n', type: 'INT64' }, { name: 'ok', type: 'BOOL' }] }
    expect(copyText(record, { f: [{ v: '3' }, { v: 'true' }] })).toBe('{"n":3,"ok":true}')
    // nested values never pass through a double
    expect(copyText(record, { f: [{ v: '9007199254740993' }, { v: null }] })).toBe('{"n":9007199254740993,"ok":null}')
    expect(copyText({ name: 'x', type: 'INT64', mode: 'REPEATED' }, [{ v: '-9223372036854775808' }])).toBe('[-9223372036854775808]')
    expect(copyText({ name: 'x', type: 'FLOAT64', mode: 'REPEATED' }, [{ v: 'NaN' }, { v: '-Infinity' }, { v: '1.5E-7' }])).toBe('["NaN","-Infinity",1.5E-7]')
    expect(copyText({ name: 'x', type: 'NUMERIC', mode: 'REPEATED' }, [{ v: '0.10000000000000000000001' }])).toBe('[0.10000000000000000000001]')
    expect(copyText({ name: 'r', type: 'RANGE', rangeElementType: { type: 'DATE' } }, '[UNBOUNDED, 2025-01-01)')).toBe('[,"2025-01-01")')
    expect(parameterValue('2025-03-10 00:00:00+00', 'timestamp with time zone')).toBe('2025-03-10 00:00:00+00:00')
  })
})

describe('BigQuery REST client against a local server', () => {
  let fake: FakeBigQuery
  const schema: BigQueryField[] = [
    { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
    { name: 'name', type: 'STRING' },
  ]
  const rows = Array.from({ length: 5 }, (_, i) => [String(i + 1), `n${i + 1}`])

  beforeAll(async () => {
    fake = await startFakeBigQuery()
  })
  afterAll(async () => {
    await fake?.close()
  })
  beforeEach(() => {
    fake.answer = () => ({ schema, rows })
    fake.incompleteFor = 0
    fake.failNext = 0
    fake.errors = []
    fake.failJobs = 0
    fake.failJobReason = 'backendError'
    fake.rejectTokens = false
    fake.calls.length = 0
  })

  async function client(options: Partial<ConstructorParameters<typeof BigQueryClient>[0]> = {}) {
    return new BigQueryClient({
      projectId: 'fake-project',
      baseUrl: fake.baseUrl,
      token: await serviceAccountTokens(readServiceAccount(fake.keyFile)),
      pageSize: 2,
      backoffMs: 1,
      ...options,
    })
  }

  async function all(bq: BigQueryClient, parameters = [] as Array<{ name: string; type: string; value: string }>) {
    const pages = []
    for await (const page of bq.query('select id, name from `fake-project.app.t`', parameters)) pages.push(page.rows.map((r) => r.f.map((c) => c.v)))
    return pages
  }

  it('gets a token for the service account (RS256 JWT) and pages through the rows with pageToken', async () => {
    const pages = await all(await client())
    expect(pages).toEqual([[['1', 'n1'], ['2', 'n2']], [['3', 'n3'], ['4', 'n4']], [['5', 'n5']]])
    expect(fake.calls.map((c) => `${c.method} ${c.path.replace(/\?.*/, '')}`)).toEqual([
      'POST /bigquery/v2/projects/fake-project/queries',
      'GET /bigquery/v2/projects/fake-project/queries/job_1',
      'GET /bigquery/v2/projects/fake-project/queries/job_1',
    ])
    expect(fake.calls[1]!.path).toMatch(/pageToken=2/)
    expect(fake.calls[2]!.path).toMatch(/pageToken=4/)
    expect(fake.calls[0]!.body).toMatchObject({ useLegacySql: false, maxResults: 2, formatOptions: { useInt64Timestamp: true } })
    expect(fake.tokensIssued()).toBeGreaterThan(0)
  })

  it('polls a job that is not complete at first', async () => {
    fake.incompleteFor = 2
    const pages = await all(await client({ pageSize: 10 }))
    expect(pages).toEqual([rows])
    expect(fake.calls.filter((c) => c.method === 'GET')).toHaveLength(3)
  })

  it('retries 5xx answers, and gives up after its attempts', async () => {
    fake.failNext = 2
    expect((await all(await client({ pageSize: 10 }))).flat()).toHaveLength(5)
    fake.failNext = 10
    await expect(all(await client({ attempts: 3 }))).rejects.toThrow(/BigQuery answered HTTP 503 backendError: The service is currently unavailable\. \(after 3 attempts\)/)
  })

  it('fails clearly when the token endpoint refuses the key, without retrying', async () => {
    fake.rejectTokens = true
    await expect(all(await client())).rejects.toThrow(/BigQuery authentication failed for etl@fake-project\.iam\.gserviceaccount\.com: .*check GOOGLE_APPLICATION_CREDENTIALS/)
    expect(fake.calls).toHaveLength(0)
  })

  it('fails clearly on a 401 from BigQuery itself', async () => {
    const bq = await client({ token: async () => 'stale' })
    await expect(all(bq)).rejects.toThrow(/BigQuery refused the credentials \(HTTP 401 authError: Request had invalid authentication credentials\.\)/)
    expect(fake.calls).toHaveLength(1)
  })

  it('retries 403 rateLimitExceeded with a growing backoff, naming the reason when it persists', async () => {
    const waits: number[] = []
    const sleep = async (ms: number) => void waits.push(ms)
    fake.errors = [{ status: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits: too many api requests per user per method for this user_method.' }]
    expect((await all(await client({ pageSize: 10, sleep, random: () => 1, backoffMs: 1000 }))).flat()).toHaveLength(5)
    expect(waits).toEqual([1000])
    fake.errors = Array.from({ length: 3 }, () => ({ status: 403, reason: 'rateLimitExceeded', message: 'Exceeded rate limits' }))
    waits.length = 0
    await expect(all(await client({ attempts: 3, sleep, random: () => 1, backoffMs: 1000 }))).rejects.toThrow(/BigQuery answered HTTP 403 rateLimitExceeded: Exceeded rate limits \(after 3 attempts\)/)
    expect(waits).toEqual([1000, 2000])
  })

  it('fails at once on 403 quotaExceeded, as a quota error and not as refused credentials', async () => {
    fake.errors = [{ status: 403, reason: 'quotaExceeded', message: 'Quota exceeded: Your project exceeded quota for free query bytes scanned.' }]
    const error = await all(await client()).catch((e: Error) => e)
    expect((error as Error).message).toMatch(/^BigQuery quota exceeded \(HTTP 403 quotaExceeded: Quota exceeded: Your project exceeded quota/)
    expect((error as Error).message).not.toMatch(/credentials/)
    expect(fake.calls).toHaveLength(1)
  })

  it('runs the query again when the job itself failed with backendError, instead of asking for the dead job\'s results', async () => {
    fake.failJobs = 1
    const pages = await all(await client({ pageSize: 10, sleep: async () => {} }))
    expect(pages).toEqual([rows])
    expect(fake.calls.map((c) => `${c.method} ${c.path.replace(/\?.*/, '').replace('/bigquery/v2/projects/fake-project', '').replace(/job_\d+/, 'job')}`)).toEqual([
      'POST /queries',
      'GET /queries/job',
      'GET /jobs/job',
      'POST /queries',
    ])
    fake.failJobs = 10
    fake.calls.length = 0
    await expect(all(await client({ attempts: 2, sleep: async () => {} }))).rejects.toThrow(/BigQuery job job_\d+ failed \(backendError: Error encountered during execution/)
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(2)
  })

  it('as a sync source: describes by dry run, filters by the watermark as a named parameter, and streams COPY text', async () => {
    let seen: Record<string, string> = {}
    fake.answer = (_query, parameters) => {
      seen = parameters
      return { schema, rows: parameters.since ? rows.filter((r) => Number(r[0]) >= Number(parameters.since)) : rows }
    }
    const bq: BigQueryClient = await clientFromConfig(loadConfig(fake.env).bigquery)
    const source = bigquerySourceWith(async () => bq, { table: 'fake-project.app.t' })
    const columns = await source.describe()
    expect(columns).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'name', type: 'text' },
    ])
    expect(fake.calls[0]!.body).toMatchObject({ dryRun: true, query: 'select * from `fake-project.app.t`' })
    const copy = await text(await source.rows(columns, { column: 'id', value: '4', type: 'bigint' }))
    expect(copy).toBe('4\tn4\n5\tn5\n')
    expect(seen).toEqual({ since: '4' })
    const post = fake.calls.filter((c) => c.method === 'POST').at(-1)!.body
    expect(post).toMatchObject({
      query: 'select * from (select * from `fake-project.app.t`) where `id` >= @since',
      parameterMode: 'NAMED',
      queryParameters: [{ name: 'since', parameterType: { type: 'INT64' }, parameterValue: { value: '4' } }],
    })
  })
})
