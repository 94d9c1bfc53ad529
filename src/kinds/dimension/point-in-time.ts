import { IDENTIFIER } from '../../io/identifiers.js'

/**
 * SQL for the surrogate key of the dimension version valid at an instant: the latest version
 * that started at or before it. An event older than a key's first version (a dimension first
 * synced after the event, whose version starts at its updated_at, as dbt snapshots do) gets the
 * earliest version rather than no key. One correlated subquery, served by the dimension's
 * (business key, effective_from) index.
 *
 * @example
 * versionAt({ dimension: 'dim_learner', key: 'learner_key', businessKey: 'id', value: 's.learner_id', at: 's.started_at' })
 */
export function versionAt(options: { dimension: string; key: string; businessKey: string; value: string; at: string }): string {
  const { dimension, key, businessKey, value, at } = options
  for (const name of [dimension, key, businessKey]) {
    if (!IDENTIFIER.test(name)) throw new Error(`versionAt: not a plain SQL identifier: ${name}`)
  }
  return `(select d.${key} from ${dimension} d where d.${businessKey} = ${value}
     order by (d.effective_from <= ${at}) desc, case when d.effective_from <= ${at} then d.effective_from end desc, d.effective_from
     limit 1)`
}
