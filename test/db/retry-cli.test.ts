import { describe, expect, it } from 'vitest'
import { etl } from '../helpers/cli.js'
import { useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'

let tw: TestWarehouse
useSubprocessWarehouse((t) => (tw = t))

describe('etl retry as a subprocess', () => {
  it('after a failed run --force, retry --failed runs the pairs forced, exits 0, and etl check is green', async () => {
    const run = (args: string[], extra: Record<string, string> = {}) => etl(args, { ...tw.env, ...extra })
    expect((await run(['run', '--date', '2025-03-10', '--jobs', 'fx_write,fx_after'])).code).toBe(0)
    const forced = await run(['run', '--date', '2025-03-10', '--jobs', 'fx_write,fx_after', '--force'], { FX_FAIL: '1' })
    expect(forced.code).toBe(1)
    expect((await run(['check'])).code).toBe(1)
    const retried = await run(['retry', '--failed', '--from', '2025-03-10', '--to', '2025-03-10'])
    expect(retried.code, retried.stdout).toBe(0)
    expect(retried.stdout).toMatch(/fx_write\s+2025-03-10\s+SUCCESS/)
    expect(retried.stdout).toMatch(/fx_after\s+2025-03-10\s+SUCCESS/)
    expect(retried.stdout).not.toMatch(/SKIPPED/)
    const check = await run(['check'])
    expect(check.code, check.stdout).toBe(0)
  })
})
