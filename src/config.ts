import fs from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { EtlError } from './errors.js'
import { DEFAULT_LEDGER_RETENTION, LEDGER_RETENTION } from './engine/ledger/retention.js'
import { providers } from './providers/index.js'
import { isValidZone } from './time/calendar.js'

/** Everything nightshift reads from the environment, validated once and frozen. */
export interface Config {
  /** Source database URL; undefined means the embedded PGlite under `dataDir`. */
  readonly oltpUrl: string | undefined
  /** Warehouse database URL; undefined means the embedded PGlite under `dataDir`. */
  readonly warehouseUrl: string | undefined
  readonly dataDir: string
  readonly redisUrl: string | undefined
  /** `REDIS_KEY_PREFIX`: prepended to every cache key, so environments (and test files) share one Redis; default none. */
  readonly redisKeyPrefix: string
  readonly timezone: string
  readonly jobsPaths: readonly string[]
  readonly warehouseSchema: string
  /** `ETL_DEBUG`: stack traces and debug logs; on when set to anything but empty, 0, false, no or off. */
  readonly debug: boolean
  readonly logLevel: string
  /** `NO_COLOR` set and not empty (no-color.org): terminal log lines without colour. */
  readonly noColor: boolean
  readonly lockTimeoutMs: number
  /** Bound on each source statement (`statement_timeout`, per transaction); undefined: none. */
  readonly sourceStatementTimeoutMs: number | undefined
  /** `ETL_NOW`: the instant the process's clock starts at (tests, rehearsals); undefined: the real time. */
  readonly clockStart: Date | undefined
  readonly useMockData: boolean
  readonly adminToken: string | undefined
  /**
   * `ETL_ADMIN_TOKENS` (JSON) or `ETL_ADMIN_TOKENS_FILE` (a file of the same JSON): the bearer
   * tokens of the metrics API's callers besides the all-powerful `ETL_ADMIN_TOKEN`, each with who
   * it is (user, team, organization: what a custom metric's visibility is checked against) and
   * its scopes. Empty when neither is set. See docs/serve.md.
   */
  readonly apiTokens: readonly ApiToken[]
  /**
   * Each registered provider's settings by provider and setting name (`providerSettings.polygon.apiKey`),
   * read from the variables its file declares (src/providers/); a plan as given, src/providers/plans.ts checks it.
   */
  readonly providerSettings: ProviderSettings
  /** A table sync's BigQuery source (src/kinds/table-sync/bigquery/source.ts checks what it needs). */
  readonly bigquery: {
    /** `GOOGLE_APPLICATION_CREDENTIALS`: path of a service account key file. */
    readonly credentialsFile: string | undefined
    /** `BIGQUERY_PROJECT_ID`; undefined: the key's project. */
    readonly projectId: string | undefined
    /** `BIGQUERY_LOCATION`; undefined: BigQuery's choice. */
    readonly location: string | undefined
    /** `BIGQUERY_BASE_URL`: the REST endpoint (tests point it at a local server). */
    readonly baseUrl: string
    /** `BIGQUERY_TOKEN_URL`; undefined: the key's `token_uri`, else Google's. */
    readonly tokenUrl: string | undefined
  }
  /** `JOB_COMPLETION_INDEX`, set by a Kubernetes Indexed Job: the shard of `etl backfill --shard /n`; checked there. */
  readonly completionIndex: string | undefined
  /** How long the retention job keeps ledger rows nothing needs (ETL_LEDGER_RETENTION); null: for ever. */
  readonly ledgerRetention: string | null
  /**
   * `ETL_CITUS_SHARD_COUNT`: shards of each tenant-distributed table when `etl migrate up`
   * distributes them on a Citus coordinator; default 8, as each day's fact partition is
   * distributed into that many shards (docs/citus.md).
   */
  readonly citusShardCount: number
}

/** What a bearer token of `etl serve` may do besides being the admin (docs/serve.md). */
export const API_SCOPES = ['metrics:read', 'metrics:write', 'metrics:calculate', 'admin'] as const
export type ApiScope = (typeof API_SCOPES)[number]

/** One caller of the metrics API: its token and who it is. */
export interface ApiToken {
  readonly token: string
  readonly user: string
  readonly team: string | undefined
  readonly organization: string | undefined
  readonly scopes: readonly ApiScope[]
}

const principal = z.string().regex(/^[A-Za-z0-9_.@-]{1,100}$/, 'must be 1 to 100 letters, digits or _ . @ -')
const ApiTokensSchema = z
  .array(
    z.strictObject({
      token: z.string().regex(/^[\x21-\x7e]{16,200}$/, 'must be 16 to 200 printable characters without spaces'),
      user: principal,
      team: principal.optional(),
      organization: principal.optional(),
      scopes: z.array(z.enum(API_SCOPES)).min(1),
    }),
  )
  .max(1000)

/** The API tokens from their JSON; a problem names the entry and the field, never a token. */
function readApiTokens(json: string | undefined, file: string | undefined, adminToken: string | undefined): ApiToken[] {
  if (json !== undefined && file !== undefined) throw new EtlError('CONFIG', 'set ETL_ADMIN_TOKENS or ETL_ADMIN_TOKENS_FILE, not both')
  const variable = file !== undefined ? 'ETL_ADMIN_TOKENS_FILE' : 'ETL_ADMIN_TOKENS'
  let text = json
  if (file !== undefined) {
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (error) {
      throw new EtlError('CONFIG', `ETL_ADMIN_TOKENS_FILE '${file}' cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  }
  if (text === undefined) return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new EtlError('CONFIG', `${variable} is not JSON; give an array such as [{"token": "…", "user": "ana", "team": "math", "organization": "acme", "scopes": ["metrics:read"]}]`)
  }
  const result = ApiTokensSchema.safeParse(parsed)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const where = issue.path.length ? ` entry ${String(issue.path[0])}${issue.path.length > 1 ? ` field '${issue.path.slice(1).map(String).join('.')}'` : ''}` : ''
    throw new EtlError('CONFIG', `${variable}${where} ${issue.message}; fix it or unset it`)
  }
  const tokens = result.data.map((t) => Object.freeze({ token: t.token, user: t.user, team: t.team, organization: t.organization, scopes: Object.freeze([...t.scopes]) }))
  const seen = new Set<string>(adminToken ? [adminToken] : [])
  for (const [i, t] of tokens.entries()) {
    if (seen.has(t.token)) throw new EtlError('CONFIG', `${variable} entry ${i} repeats a token (another entry's or ETL_ADMIN_TOKEN); give each caller its own`)
    seen.add(t.token)
  }
  return tokens
}

/** Shards per tenant-distributed table on Citus unless ETL_CITUS_SHARD_COUNT says otherwise (docs/citus.md). */
export const DEFAULT_CITUS_SHARD_COUNT = 8

const flag = z
  .string()
  .optional()
  .transform((v) => v !== undefined && v !== '' && !/^(0|false|no|off)$/i.test(v))

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

const postgresUrl = optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
  message: 'must be a postgres:// or postgresql:// URL',
})

const identifier = /^[a-z_][a-z0-9_]{0,62}$/

const EnvSchema = z.object({
  OLTP_DATABASE_URL: postgresUrl,
  WAREHOUSE_DATABASE_URL: postgresUrl,
  ETL_DATA_DIR: optionalString,
  REDIS_KEY_PREFIX: z.string().optional(),
  REDIS_URL: optionalString.refine((v) => v === undefined || /^rediss?:\/\//.test(v), {
    message: 'must be a redis:// or rediss:// URL',
  }),
  ETL_TIMEZONE: optionalString.refine((v) => v === undefined || isValidZone(v), {
    message: 'is not an IANA time zone (for example UTC or America/New_York)',
  }),
  ETL_JOBS_PATH: optionalString,
  ETL_WAREHOUSE_SCHEMA: optionalString.refine((v) => v === undefined || identifier.test(v), {
    message: 'must be a lower-case SQL identifier',
  }),
  ETL_DEBUG: flag,
  NO_COLOR: z
    .string()
    .optional()
    .transform((v) => v !== undefined && v !== ''),
  LOG_LEVEL: optionalString.refine(
    (v) => v === undefined || ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(v),
    { message: 'must be one of trace, debug, info, warn, error, fatal, silent' },
  ),
  ETL_LOCK_TIMEOUT: optionalString.refine((v) => v === undefined || /^\d+$/.test(v), {
    message: 'must be a whole number of seconds',
  }),
  ETL_SOURCE_STATEMENT_TIMEOUT: optionalString.refine((v) => v === undefined || /^\d{1,9}$/.test(v), {
    message: 'must be a whole number of milliseconds (0 for no bound)',
  }),
  ETL_NOW: optionalString.refine((v) => v === undefined || (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/.test(v) && !Number.isNaN(Date.parse(v))), {
    message: 'must be an ISO 8601 instant with its offset, such as 2026-12-02T08:00:00Z',
  }),
  USE_MOCK_DATA: flag,
  ETL_ADMIN_TOKEN: optionalString,
  ETL_ADMIN_TOKENS: optionalString,
  ETL_ADMIN_TOKENS_FILE: optionalString,
  ETL_LEDGER_RETENTION: optionalString.refine((v) => v === undefined || LEDGER_RETENTION.test(v), {
    message: "must be an interval such as '6 months', '180 days' or '1 year', or off",
  }),
  JOB_COMPLETION_INDEX: optionalString,
  ETL_CITUS_SHARD_COUNT: optionalString.refine((v) => v === undefined || (/^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 64000), {
    message: 'must be a whole number of shards from 1 to 64000',
  }),
  GOOGLE_APPLICATION_CREDENTIALS: optionalString,
  BIGQUERY_PROJECT_ID: optionalString,
  BIGQUERY_LOCATION: optionalString,
  BIGQUERY_BASE_URL: optionalString,
  BIGQUERY_TOKEN_URL: optionalString,
})

/**
 * Reads the configuration from an environment (default `process.env`). A bad value is a
 * CONFIG error (exit 3) that names the variable but never echoes a secret.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0])
    throw new EtlError('CONFIG', `environment variable ${name} ${issue.message}; fix it or unset it`)
  }
  const e = parsed.data
  const debug = e.ETL_DEBUG
  const config: Config = {
    oltpUrl: e.OLTP_DATABASE_URL,
    warehouseUrl: e.WAREHOUSE_DATABASE_URL,
    dataDir: path.resolve(e.ETL_DATA_DIR ?? '.etl'),
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX ?? '',
    timezone: e.ETL_TIMEZONE ?? 'UTC',
    jobsPaths: (e.ETL_JOBS_PATH ?? '').split(':').filter(Boolean).map((p) => path.resolve(p)),
    warehouseSchema: e.ETL_WAREHOUSE_SCHEMA ?? 'public',
    debug,
    logLevel: e.LOG_LEVEL ?? (debug ? 'debug' : 'info'),
    noColor: e.NO_COLOR,
    lockTimeoutMs: (e.ETL_LOCK_TIMEOUT ? Number(e.ETL_LOCK_TIMEOUT) : 60) * 1000,
    sourceStatementTimeoutMs: e.ETL_SOURCE_STATEMENT_TIMEOUT && Number(e.ETL_SOURCE_STATEMENT_TIMEOUT) > 0 ? Number(e.ETL_SOURCE_STATEMENT_TIMEOUT) : undefined,
    clockStart: e.ETL_NOW ? new Date(e.ETL_NOW) : undefined,
    useMockData: e.USE_MOCK_DATA,
    adminToken: e.ETL_ADMIN_TOKEN,
    apiTokens: Object.freeze(readApiTokens(e.ETL_ADMIN_TOKENS, e.ETL_ADMIN_TOKENS_FILE, e.ETL_ADMIN_TOKEN)),
    providerSettings: readProviderSettings(env),
    completionIndex: e.JOB_COMPLETION_INDEX,
    bigquery: {
      credentialsFile: e.GOOGLE_APPLICATION_CREDENTIALS,
      projectId: e.BIGQUERY_PROJECT_ID,
      location: e.BIGQUERY_LOCATION,
      baseUrl: e.BIGQUERY_BASE_URL ?? 'https://bigquery.googleapis.com',
      tokenUrl: e.BIGQUERY_TOKEN_URL,
    },
    ledgerRetention: e.ETL_LEDGER_RETENTION === 'off' ? null : (e.ETL_LEDGER_RETENTION ?? DEFAULT_LEDGER_RETENTION),
    citusShardCount: e.ETL_CITUS_SHARD_COUNT ? Number(e.ETL_CITUS_SHARD_COUNT) : DEFAULT_CITUS_SHARD_COUNT,
    ...overrides,
  }
  return Object.freeze(config)
}

/**
 * `ETL_DEBUG` by the same rule as `Config.debug`, for the CLI's error line: it must decide on a
 * stack trace even when the error is that another variable is bad and no config exists.
 */
export function debugFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return EnvSchema.shape.ETL_DEBUG.parse(env.ETL_DEBUG)
}

export type ProviderSettings = Readonly<Record<string, Readonly<Record<string, string | undefined>>>>

/** The variables each registered provider declares (POLYGON_API_KEY, …): blank is unset, then the setting's default. */
function readProviderSettings(env: NodeJS.ProcessEnv): ProviderSettings {
  const out: Record<string, Readonly<Record<string, string | undefined>>> = {}
  for (const provider of providers()) {
    const values: Record<string, string | undefined> = {}
    for (const [key, setting] of Object.entries(provider.settings)) {
      const value = env[setting.variable]?.trim() || undefined
      const problem = value === undefined ? undefined : setting.check?.(value)
      if (problem) throw new EtlError('CONFIG', `environment variable ${setting.variable} ${problem}; fix it or unset it`)
      values[key] = value ?? setting.default
    }
    out[provider.name] = Object.freeze(values)
  }
  return Object.freeze(out)
}
