import { providerSecretVariables } from './providers/index.js'

/**
 * Secrets never reach logs, the ledger's `error_message` or `etl status` (SPEC section 2).
 * Two nets: the password part of any URL, and the literal value of every secret variable (for
 * a URL variable, its password): these, and each provider's (POLYGON_API_KEY, … from src/providers/).
 */
const SECRET_VARIABLES = ['OLTP_DATABASE_URL', 'WAREHOUSE_DATABASE_URL', 'TEST_DATABASE_URL', 'REDIS_URL', 'ETL_ADMIN_TOKEN', 'PGPASSWORD']

/** Every variable whose value is masked. */
export function secretVariables(): string[] {
  return [...SECRET_VARIABLES, ...providerSecretVariables()]
}

// scheme://user:password@host → scheme://user:***@host
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@/\s]+)@/gi
// apiKey=..., api_key=..., x_cg_pro_api_key=..., token=...
const KEY_PARAMETER = /([?&](?:api[_-]?key|apikey|x_cg_[a-z_]*key|token|access_token|password)=)[^&\s"']+/gi

function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values: string[] = []
  for (const name of secretVariables()) {
    const value = env[name]
    if (!value || value.length < 4) continue
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      values.push(value) // a key or token: all of it is secret
      continue
    }
    // a URL is secret only in its password, which drivers sometimes echo on its own; the rest
    // (user, host, database) is what an operator needs to read in an error
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:([^@/\s]+)@/i.exec(value)
    if (match?.[1] && match[1].length >= 4) values.push(match[1], decodedOrSame(match[1]))
  }
  return values.sort((a, b) => b.length - a.length)
}

function decodedOrSame(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text // a bare % is not an escape; the raw form is masked already
  }
}

// reads the environment itself, not the config: it masks every secret there, also while a bad
// value is what stops loadConfig (whose error is redacted) and for variables config.ts never reads
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text.replace(URL_PASSWORD, '$1:***@').replace(KEY_PARAMETER, '$1***')
  for (const secret of secretValues(env)) out = out.split(secret).join('***')
  return out
}
