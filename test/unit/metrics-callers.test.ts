import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { canChange, canSee, ownerOf, type MetricCaller } from '../../src/kinds/rollup/custom/visibility.js'
import { callerOf } from '../../src/ops/metrics-api.js'

const caller = (user: string, team?: string, organization?: string): MetricCaller => ({ admin: false, user, team, organization })
const ana = { owner_user: 'ana', owner_team: 'math', owner_organization: 'acme' }
const operator = { owner_user: null, owner_team: null, owner_organization: null }

describe('custom metric visibility', () => {
  it.each([
    ['PUBLIC', ['ana', 'bob', 'carl', 'dora', 'solo']],
    ['ORGANIZATION', ['ana', 'bob', 'carl']],
    ['TEAM', ['ana', 'bob']],
    ['PRIVATE', ['ana']],
  ] as const)('%s: seen by %j', (visibility, who) => {
    const callers = {
      ana: caller('ana', 'math', 'acme'),
      bob: caller('bob', 'math', 'acme'),
      carl: caller('carl', 'art', 'acme'),
      dora: caller('dora', 'math', 'other'), // a team of the same name in another organization
      solo: caller('solo'),
    }
    expect(Object.entries(callers).filter(([, c]) => canSee(c, ana, visibility)).map(([n]) => n)).toEqual(who)
  })

  it('keeps an operator’s non-public metric for the admin, and lets only the owner or the admin change a metric', () => {
    const admin: MetricCaller = { admin: true, user: undefined, team: undefined, organization: undefined }
    expect(canSee(caller('x'), operator, 'TEAM')).toBe(false)
    expect(canSee(caller('x'), operator, 'PUBLIC')).toBe(true)
    expect(canSee(admin, ana, 'PRIVATE')).toBe(true)
    expect([canChange(caller('ana'), ana), canChange(caller('bob', 'math', 'acme'), ana), canChange(admin, ana), canChange(caller('x'), operator)]).toEqual([true, false, true, false])
    expect(ownerOf(caller('ana', 'math'))).toEqual({ owner_user: 'ana', owner_team: 'math', owner_organization: null })
    expect(ownerOf(admin)).toEqual(operator)
  })
})

describe('API callers from the configuration', () => {
  const tokens = [{ token: 'ana-token-0123456789', user: 'ana', team: 'math', organization: 'acme', scopes: ['metrics:read'] }]

  it('reads ETL_ADMIN_TOKENS from JSON or from ETL_ADMIN_TOKENS_FILE, and tells the admin from a user', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ns-tokens-')), 'tokens.json')
    fs.writeFileSync(file, JSON.stringify(tokens))
    const fromFile = loadConfig({ ETL_ADMIN_TOKEN: 'admin-token-0123456789', ETL_ADMIN_TOKENS_FILE: file })
    const fromJson = loadConfig({ ETL_ADMIN_TOKEN: 'admin-token-0123456789', ETL_ADMIN_TOKENS: JSON.stringify(tokens) })
    expect(fromFile.apiTokens).toEqual(fromJson.apiTokens)
    expect(loadConfig({}).apiTokens).toEqual([])
    const { apiTokens } = fromJson
    expect(callerOf('Bearer ana-token-0123456789', 'admin-token-0123456789', apiTokens)).toEqual({ admin: false, user: 'ana', team: 'math', organization: 'acme', scopes: ['metrics:read'] })
    expect(callerOf('bearer admin-token-0123456789', 'admin-token-0123456789', apiTokens)).toMatchObject({ admin: true })
    for (const header of [undefined, '', 'Bearer ', 'ana-token-0123456789', 'Bearer ana-token-0123456789x', 'Basic ana-token-0123456789']) {
      expect(callerOf(header, 'admin-token-0123456789', apiTokens), String(header)).toBeUndefined()
    }
  })

  it.each([
    ['both variables', { ETL_ADMIN_TOKENS: '[]', ETL_ADMIN_TOKENS_FILE: '/x' }, /not both/],
    ['a missing file', { ETL_ADMIN_TOKENS_FILE: '/nonexistent/tokens.json' }, /ETL_ADMIN_TOKENS_FILE '\/nonexistent\/tokens.json' cannot be read: ENOENT/],
    ['a repeated token', { ETL_ADMIN_TOKENS: JSON.stringify([...tokens, { ...tokens[0], user: 'bob' }]) }, /entry 1 repeats a token/],
    ['an unknown field', { ETL_ADMIN_TOKENS: JSON.stringify([{ ...tokens[0], role: 'boss' }]) }, /entry 0/],
    ['no scopes', { ETL_ADMIN_TOKENS: JSON.stringify([{ ...tokens[0], scopes: [] }]) }, /entry 0 field 'scopes'/],
  ])('refuses %s as a CONFIG error (exit 3) that shows no token', (_what, env, message) => {
    let error: unknown
    try {
      loadConfig(env)
    } catch (e) {
      error = e
    }
    expect((error as { exitCode: number }).exitCode).toBe(3)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain('ana-token')
  })
})
