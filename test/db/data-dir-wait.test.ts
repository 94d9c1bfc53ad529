import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, startEtl } from '../helpers/cli.js'
import { createTestWarehouse, testDbKind, type TestWarehouse } from '../helpers/db.js'
import { etlPty } from '../helpers/pty.js'

/*
 * Two real processes on one embedded database folder: the second waits for the first and says
 * once whom it waits for. The embedded database only, so it runs in the pglite project.
 */

let tw: TestWarehouse

beforeAll(async () => {
  tw = await createTestWarehouse()
})

afterAll(async () => {
  await tw?.drop()
})

/** Starts a backfill of a day not done yet that holds the folder while fx_write sleeps in its run; resolves once it sleeps. */
async function holdingBackfill(env: Record<string, string>, day: string) {
  const slow = startEtl(['backfill', '--from', day, '--to', day, '--jobs', 'fx_write'], { ...env, FX_SLEEP_MS: '3000' })
  await new Promise<void>((resolve) => slow.child.stderr!.on('data', (d) => String(d).includes('sleeping') && resolve()))
  return slow
}

describe.skipIf(testDbKind() === 'postgres')('waiting for the embedded database (embedded only: runs in the pglite project)', () => {
  it('says once on stderr which process holds it and for how long it waits, then gets in', async () => {
    const env = { ETL_DATA_DIR: tw.env.ETL_DATA_DIR! }
    const slow = await holdingBackfill(env, '2025-01-15')
    const waiter = startEtl(['status', '--json'], { ...env, LOG_LEVEL: 'warn' })
    const result = await waiter.done
    expect(result.code).toBe(0)
    const logs = result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string })
    expect(logs.filter((l) => l.msg.startsWith('waiting'))).toEqual([
      expect.objectContaining({ level: 40, msg: `waiting for the embedded database, held by pid ${slow.child.pid} (etl backfill), up to 60 s` }),
    ])
    expect(errorLines(result.stderr)).toEqual([])
    expect((await slow.done).code).toBe(0)
  })

  it('at a terminal it is one short line, with the --lock-timeout given', async () => {
    const env = { ETL_DATA_DIR: tw.env.ETL_DATA_DIR! }
    const slow = await holdingBackfill(env, '2025-01-16')
    const r = await etlPty(['--lock-timeout', '30', 'status'], { ...env, LOG_LEVEL: 'warn' })
    expect(r.code).toBe(0)
    expect(r.lines.filter((l) => l.includes('waiting'))).toEqual([
      expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d WARN waiting for the embedded database, held by pid ${slow.child.pid} \\(etl backfill\\), up to 30 s$`)),
    ])
    expect((await slow.done).code).toBe(0)
  })
})
