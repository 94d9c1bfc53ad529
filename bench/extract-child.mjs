// Child process of the extract benchmarks, on the built package (no TypeScript loader, so its
// peak RSS is nightshift's own): moves a source table into staging with loadStaging and prints
// its wall time and peak RSS as JSON.
import { describeTable, loadStaging, openPostgres } from '../dist/index.js'

const [url, table] = process.argv.slice(2)
const source = await openPostgres({ url, role: 'oltp' })
const warehouse = await openPostgres({ url, role: 'warehouse' })
const columns = await describeTable(source, table)
const t0 = performance.now()
const rows = await warehouse.withSession((session) =>
  loadStaging({ source, query: `select * from ${table}`, columns, warehouse: session, table: `staging.bench_${table}` }),
)
const s = (performance.now() - t0) / 1000
process.stdout.write(JSON.stringify({ s, rows, maxRssMb: process.resourceUsage().maxRSS / 1024 }))
await source.close()
await warehouse.close()
