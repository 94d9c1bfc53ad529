import type { MetricDefinition } from './definition.js'
import type { MetricOwner } from './store.js'

/** Who calls the metrics API, from its bearer token (src/config.ts `apiTokens`). */
export interface MetricCaller {
  /** ETL_ADMIN_TOKEN or a token with the `admin` scope: sees and changes every metric. */
  readonly admin: boolean
  readonly user: string | undefined
  readonly team: string | undefined
  readonly organization: string | undefined
}

/**
 * Whether the caller may see (list, calculate) a metric: PUBLIC to every caller, ORGANIZATION to
 * the owner's organization, TEAM to the owner's team in that organization, PRIVATE to its owner.
 * An operator's metric (`etl metric define`, no owner) that is not PUBLIC is the admin's alone.
 *
 * @example canSee({ admin: false, user: 'ana', team: 'math', organization: 'acme' }, stored, 'TEAM')
 */
export function canSee(caller: MetricCaller, owner: MetricOwner, visibility: MetricDefinition['visibility']): boolean {
  if (caller.admin || visibility === 'PUBLIC') return true
  const sameOrganization = owner.owner_organization !== null && owner.owner_organization === (caller.organization ?? null)
  switch (visibility) {
    case 'ORGANIZATION':
      return sameOrganization
    case 'TEAM':
      // a team is within its organization (or within none, for a token without one)
      return owner.owner_team !== null && owner.owner_team === (caller.team ?? null) && owner.owner_organization === (caller.organization ?? null)
    case 'PRIVATE':
      return owner.owner_user !== null && owner.owner_user === (caller.user ?? null)
  }
}

/** A new version of a metric is its owner's (or the admin's) to write. */
export function canChange(caller: MetricCaller, owner: MetricOwner): boolean {
  return caller.admin || (owner.owner_user !== null && owner.owner_user === (caller.user ?? null))
}

/** The owner a caller's new metric gets: who the token says it is; none for the admin. */
export function ownerOf(caller: MetricCaller): MetricOwner {
  return caller.admin
    ? { owner_user: null, owner_team: null, owner_organization: null }
    : { owner_user: caller.user ?? null, owner_team: caller.team ?? null, owner_organization: caller.organization ?? null }
}
