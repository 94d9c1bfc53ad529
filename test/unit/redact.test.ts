import { afterEach, describe, expect, it, vi } from 'vitest'
import { redact } from '../../src/redact.js'

// An empty env isolates the URL and query-parameter nets from whatever the machine has set.
const NO_ENV: NodeJS.ProcessEnv = {}

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('redact: passwords in URLs', () => {
  it('masks the password of a postgres URL and keeps the user, host, port and database', () => {
    const out = redact('cannot connect to postgres://etl_user:secret@db.internal:5432/warehouse', NO_ENV)
    expect(out).not.toContain('secret')
    expect(out).toBe('cannot connect to postgres://etl_user:***@db.internal:5432/warehouse')
  })

  it('masks a redis URL password that has no user', () => {
    expect(redact('redis://:hunter22@cache:6379/0', NO_ENV)).toBe('redis://:***@cache:6379/0')
  })

  it('masks every URL in the text, not just the first', () => {
    const out = redact('from postgres://a:pw-one@src/db to postgresql://b:pw-two@dst/db', NO_ENV)
    expect(out).toBe('from postgres://a:***@src/db to postgresql://b:***@dst/db')
  })

  it('leaves URLs without a password untouched', () => {
    const text = 'postgres://etl_user@db.internal:5432/warehouse and https://api.example.com:8443/v1'
    expect(redact(text, NO_ENV)).toBe(text)
  })
})

describe('redact: API keys in query parameters', () => {
  it.each([
    ['https://api.polygon.io/v2/aggs?apiKey=abc123XYZ&limit=5', 'https://api.polygon.io/v2/aggs?apiKey=***&limit=5'],
    ['https://x.test/q?limit=5&api_key=abc123XYZ', 'https://x.test/q?limit=5&api_key=***'],
    ['https://x.test/q?apikey=abc123XYZ', 'https://x.test/q?apikey=***'],
    ['https://pro-api.coingecko.com/api/v3/ping?x_cg_pro_api_key=abc123XYZ', 'https://pro-api.coingecko.com/api/v3/ping?x_cg_pro_api_key=***'],
    ['https://x.test/q?token=abc123XYZ', 'https://x.test/q?token=***'],
    ['https://x.test/q?access_token=abc123XYZ', 'https://x.test/q?access_token=***'],
  ])('masks the key in %s and keeps the other parameters', (input, expected) => {
    expect(redact(input, NO_ENV)).toBe(expected)
  })

  it('leaves ordinary query parameters alone', () => {
    const text = 'https://x.test/q?symbol=AAPL&from=2025-01-15'
    expect(redact(text, NO_ENV)).toBe(text)
  })
})

describe('redact: literal values of secret variables', () => {
  it('masks the value of POLYGON_API_KEY wherever it appears', () => {
    const env = { POLYGON_API_KEY: 'abcd1234xyz' }
    const out = redact('request with key abcd1234xyz failed (abcd1234xyz)', env)
    expect(out).not.toContain('abcd1234xyz')
    expect(out).toBe('request with key *** failed (***)')
  })

  it('masks the bare password of a database URL variable when a driver echoes it alone', () => {
    const env = { WAREHOUSE_DATABASE_URL: 'postgres://etl:s3cr3t-pw@db/warehouse' }
    expect(redact('password "s3cr3t-pw" was rejected', env)).toBe('password "***" was rejected')
  })

  it('masks both the encoded and the decoded form of a URL-encoded password', () => {
    const env = { OLTP_DATABASE_URL: 'postgres://app:p%40ss%2Fw0rd@oltp/app' }
    const out = redact('encoded p%40ss%2Fw0rd, decoded p@ss/w0rd', env)
    expect(out).not.toContain('p%40ss%2Fw0rd')
    expect(out).not.toContain('p@ss/w0rd')
    expect(out).toBe('encoded ***, decoded ***')
  })

  it('leaves values shorter than 4 characters alone so common words survive', () => {
    expect(redact('the abc of it', { PGPASSWORD: 'abc' })).toBe('the abc of it')
  })

  it('does not mask values of variables that are not secrets', () => {
    expect(redact('wrote /data/nightshift', { ETL_DATA_DIR: '/data/nightshift' })).toBe('wrote /data/nightshift')
  })

  it('reads process.env when no env is passed', () => {
    vi.stubEnv('ETL_ADMIN_TOKEN', 'tok-0123456789')
    expect(redact('header Authorization: Bearer tok-0123456789')).toBe('header Authorization: Bearer ***')
  })

  // a bare '%' in a password is not an escape; redact must mask, not throw
  it('does not throw when a URL variable holds a password with a bare %', () => {
    const env = { WAREHOUSE_DATABASE_URL: 'postgres://etl:100%sure@db/warehouse' }
    expect(redact('password 100%sure was rejected', env)).toBe('password *** was rejected')
  })
})

describe('what stays readable', () => {
  it('keeps a database URL without a password as it is, so errors still say which server', () => {
    const env = { WAREHOUSE_DATABASE_URL: 'postgres://etl@db.internal:5432/warehouse' }
    expect(redact('cannot reach postgres://etl@db.internal:5432/warehouse', env)).toBe('cannot reach postgres://etl@db.internal:5432/warehouse')
  })

  it('masks a password given as a query parameter', () => {
    expect(redact('postgres://db/wh?user=etl&password=hunter22')).toBe('postgres://db/wh?user=etl&password=***')
  })
})
