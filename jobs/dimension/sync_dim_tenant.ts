import { defineDimension } from '../../src/define.js'

// SCD Type 2 of tenants, hourly; a version is valid from the row's updated_at (dbt snapshot semantics).
// tenant_id repeats the business key id under the name the facts and rollups use (issue #22): a
// join is `using (tenant_id)` everywhere, and `id` stays for existing readers and the SCD2 indexes.
export default defineDimension({
  kind: 'dimension',
  schedule: '0 * * * *',
  source: { query: 'select t.*, t.id as tenant_id from public.tenants t' },
  businessKey: ['id'],
  strategy: { type: 'timestamp', updatedAt: 'updated_at' },
  target: 'dim_tenant',
  hardDeletes: 'invalidate',
  checks: [
    { type: 'not_null', columns: ['id', 'tenant_id'] },
    { type: 'unique', columns: ['id'] },
  ],
})
