import { it, expect } from 'vitest'
import { consoleScenario } from '../helpers/console-scenario.js'
it('builds', async () => {
  const s = await consoleScenario()
  const r = await s.etl(['report', '--out', '/tmp/scenario.html'])
  console.log(r.stdout, r.stderr)
  const g = await s.etl(['status', '--grid'])
  console.log(g.stdout)
  const runs = await s.etl(['runs'])
  console.log(runs.stdout)
  console.log(JSON.stringify(s.env))
}, 300000)
