import fs from 'node:fs'

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token'
const SCOPE = 'https://www.googleapis.com/auth/bigquery.readonly'

export interface ServiceAccount {
  client_email: string
  private_key: string
  project_id?: string
  token_uri?: string
}

/** An access token on demand, refreshed by google-auth-library when it nears expiry. */
export type TokenProvider = () => Promise<string>

export function readServiceAccount(file: string): ServiceAccount {
  let key: ServiceAccount
  try {
    key = JSON.parse(fs.readFileSync(file, 'utf8')) as ServiceAccount
  } catch (error) {
    throw new Error(`cannot read the service account key in GOOGLE_APPLICATION_CREDENTIALS (${file}): ${(error as Error).message}`)
  }
  if (!key.client_email || !key.private_key) {
    throw new Error(`GOOGLE_APPLICATION_CREDENTIALS (${file}) is not a service account key: it needs client_email and private_key`)
  }
  return key
}

/**
 * Tokens for a service account key (google-auth-library's JWT flow). The token endpoint is the
 * key's `token_uri` when it names another one, or BIGQUERY_TOKEN_URL: tests (and private
 * endpoints) point it at a local server; google-auth-library itself always asks Google.
 */
export async function serviceAccountTokens(key: ServiceAccount, tokenUrl?: string): Promise<TokenProvider> {
  const { JWT } = await import('google-auth-library')
  const jwt = new JWT({ email: key.client_email, key: key.private_key, scopes: [SCOPE] })
  const endpoint = tokenUrl ?? (key.token_uri && key.token_uri !== GOOGLE_TOKEN_URL ? key.token_uri : undefined)
  if (endpoint) {
    jwt.transporter.interceptors.request.add({
      resolved: async (options) => {
        if (String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(endpoint)
        return options
      },
    })
  }
  return async () => {
    let token: string | null | undefined
    try {
      token = (await jwt.getAccessToken()).token
    } catch (error) {
      throw new Error(`BigQuery authentication failed for ${key.client_email}: ${(error as Error).message}; check GOOGLE_APPLICATION_CREDENTIALS`)
    }
    if (!token) throw new Error(`BigQuery authentication failed for ${key.client_email}: no access token returned`)
    return token
  }
}
