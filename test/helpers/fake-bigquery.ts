import { createVerify, generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { BigQueryField, BigQueryValue } from '../../src/kinds/table-sync/bigquery/types.js'

export interface FakeResult {
  schema: BigQueryField[]
  rows: BigQueryValue[][]
}

/**
 * A local HTTP server that speaks the part of BigQuery's REST API a sync uses, and Google's
 * OAuth token endpoint for a service account: jobs.query (with dry runs), getQueryResults with
 * pageToken paging, jobs that are not complete at first, injected errors in Google's body shape
 * (`error.errors[].reason`: backendError, rateLimitExceeded, quotaExceeded…), jobs that fail
 * while running (getQueryResults answers their error, jobs.get their errorResult), and a token
 * endpoint that checks the JWT's RS256 signature against a key generated here.
 */
export interface FakeBigQuery {
  readonly baseUrl: string
  readonly tokenUrl: string
  /** A service account key file for GOOGLE_APPLICATION_CREDENTIALS, whose token_uri is this server. */
  readonly keyFile: string
  /** Environment for a BigQuery source pointed at this server. */
  readonly env: Record<string, string>
  /** Answers a query: its text and named parameters → schema and rows. */
  answer: (query: string, parameters: Record<string, string>) => FakeResult
  /** getQueryResults says `jobComplete: false` this many times per job before answering. */
  incompleteFor: number
  /** The next this many BigQuery calls answer 503 backendError. */
  failNext: number
  /** The next BigQuery calls answer these errors, in order (Google's error body, with its reason). */
  errors: FakeError[]
  /** The next this many jobs fail while running: getQueryResults answers the job's error, jobs.get shows it. */
  failJobs: number
  /** The reason a failed job gives; default backendError. */
  failJobReason: string
  /** The token endpoint refuses every assertion (a revoked key). */
  rejectTokens: boolean
  readonly calls: Array<{ method: string; path: string; body: any }>
  readonly tokensIssued: () => number
  close(): Promise<void>
}

/** An error as BigQuery's REST API answers it: an HTTP status and one of its `errors[].reason`s. */
export interface FakeError {
  status: number
  reason: string
  message?: string
}

/** Google's JSON error body: `{ error: { code, message, errors: [{ message, domain, reason }], status } }`. */
export function googleError(status: number, reason: string, message: string) {
  const grpc: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' }
  return { error: { code: status, message, errors: [{ message, domain: 'global', reason }], status: grpc[status] ?? 'UNKNOWN' } }
}

const TOKEN = 'fake-access-token'

export async function startFakeBigQuery(): Promise<FakeBigQuery> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jobs = new Map<string, { result: FakeResult; pending: number; failed?: string }>()
  let tokens = 0
  let jobCount = 0

  const fake: FakeBigQuery = {
    baseUrl: '',
    tokenUrl: '',
    keyFile: '',
    env: {},
    answer: () => ({ schema: [], rows: [] }),
    incompleteFor: 0,
    failNext: 0,
    errors: [],
    failJobs: 0,
    failJobReason: 'backendError',
    rejectTokens: false,
    calls: [],
    tokensIssued: () => tokens,
    close: async () => {},
  }

  const page = (jobId: string, result: FakeResult, offset: number, size: number) => {
    const rows = result.rows.slice(offset, offset + size).map((r) => ({ f: r.map((v) => ({ v })) }))
    const next = offset + size < result.rows.length ? String(offset + size) : undefined
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId: 'fake-project', jobId, location: 'EU' },
      jobComplete: true,
      schema: { fields: result.schema },
      totalRows: String(result.rows.length),
      rows,
      ...(next ? { pageToken: next } : {}),
    }
  }

  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x')
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      if (url.pathname === '/token') {
        const form = new URLSearchParams(raw)
        const [header, payload, signature] = (form.get('assertion') ?? '').split('.')
        const valid =
          !fake.rejectTokens &&
          header !== undefined &&
          createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(publicKey, Buffer.from(signature ?? '', 'base64url'))
        if (!valid) return send(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' })
        tokens++
        return send(200, { access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' })
      }
      const body = raw ? JSON.parse(raw) : undefined
      fake.calls.push({ method: req.method!, path: url.pathname + url.search, body })
      if (fake.failNext > 0) {
        fake.failNext--
        return send(503, googleError(503, 'backendError', 'The service is currently unavailable.'))
      }
      const scripted = fake.errors.shift()
      if (scripted) return send(scripted.status, googleError(scripted.status, scripted.reason, scripted.message ?? `${scripted.reason} (fake)`))
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        return send(401, googleError(401, 'authError', 'Request had invalid authentication credentials.'))
      }
      const jobPath = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname)
      if (jobPath && req.method === 'GET') {
        const job = jobs.get(jobPath[2]!)
        if (!job) return send(404, googleError(404, 'notFound', `Not found: Job ${jobPath[1]}:EU.${jobPath[2]}`))
        const reference = { projectId: jobPath[1], jobId: jobPath[2], location: 'EU' }
        if (job.failed) {
          const error = { reason: job.failed, message: 'Error encountered during execution. Retrying may solve the problem.' }
          return send(200, { kind: 'bigquery#job', jobReference: reference, status: { state: 'DONE', errorResult: error, errors: [error] } })
        }
        return send(200, { kind: 'bigquery#job', jobReference: reference, status: { state: job.pending > 0 ? 'RUNNING' : 'DONE' } })
      }
      const query = /^\/bigquery\/v2\/projects\/([^/]+)\/queries$/.exec(url.pathname)
      if (query && req.method === 'POST') {
        const parameters = Object.fromEntries(
          (body.queryParameters ?? []).map((p: { name: string; parameterValue: { value: string } }) => [p.name, p.parameterValue.value]),
        )
        const result = fake.answer(body.query, parameters)
        if (body.dryRun) return send(200, { kind: 'bigquery#queryResponse', schema: { fields: result.schema }, jobComplete: true, totalBytesProcessed: '0' })
        const jobId = `job_${++jobCount}`
        const failed = fake.failJobs > 0 ? fake.failJobReason : undefined
        if (failed) fake.failJobs--
        jobs.set(jobId, { result, pending: fake.incompleteFor, failed })
        if (fake.incompleteFor > 0 || failed) return send(200, { kind: 'bigquery#queryResponse', jobReference: { projectId: query[1], jobId, location: 'EU' }, jobComplete: false })
        return send(200, page(jobId, result, 0, body.maxResults ?? 1000))
      }
      const results = /^\/bigquery\/v2\/projects\/[^/]+\/queries\/([^/]+)$/.exec(url.pathname)
      if (results && req.method === 'GET') {
        const job = jobs.get(results[1]!)
        if (!job) return send(404, googleError(404, 'notFound', `Not found: Job ${results[1]}`))
        // a dead job's results are its error, however often they are asked for
        if (job.failed) return send(job.failed === 'rateLimitExceeded' ? 403 : 500, googleError(job.failed === 'rateLimitExceeded' ? 403 : 500, job.failed, 'Error encountered during execution. Retrying may solve the problem.'))
        if (job.pending > 0) {
          job.pending--
          return send(200, { kind: 'bigquery#getQueryResultsResponse', jobReference: { projectId: 'fake-project', jobId: results[1] }, jobComplete: false })
        }
        return send(200, page(results[1]!, job.result, Number(url.searchParams.get('pageToken') ?? 0), Number(url.searchParams.get('maxResults') ?? 1000)))
      }
      send(404, googleError(404, 'notFound', `no route ${req.method} ${url.pathname}`))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-bq-'))
  const keyFile = path.join(dir, 'service-account.json')
  fs.writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'fake-project',
      private_key_id: 'k1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: 'etl@fake-project.iam.gserviceaccount.com',
      token_uri: `${base}/token`,
    }),
  )
  return Object.assign(fake, {
    baseUrl: base,
    tokenUrl: `${base}/token`,
    keyFile,
    env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile, BIGQUERY_BASE_URL: base, BIGQUERY_PROJECT_ID: 'fake-project' },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      fs.rmSync(dir, { recursive: true, force: true })
    },
  })
}
