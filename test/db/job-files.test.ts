import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, etl, fixtureJobs } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

// Job files as users keep them: in a folder of their own, outside the package, on ETL_JOBS_PATH.
let tw: TestWarehouse
let home: string

beforeAll(async () => {
  tw = await createTestWarehouse()
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-user-jobs-'))
})

afterAll(async () => {
  await tw?.drop()
  fs.rmSync(home, { recursive: true, force: true })
})

/** A folder outside the package holding these files. */
function jobsFolder(name: string, files: Record<string, string>): string {
  const dir = path.join(home, name)
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), text)
  }
  return dir
}

const usesPackage = `import { sql, defineJob } from 'nightshift'
export default defineJob({
  kind: 'custom',
  partition: 'none',
  async run(ctx) {
    const r = await sql\`select 41 + 1 as n\`.execute(ctx.db)
    return { rowsProcessed: Number(r.rows[0].n) }
  },
})
`
const typed = `import { defineJob, type JobContext } from 'nightshift'
const rows: number = 7
export default defineJob({ kind: 'custom', partition: 'none', async run(_ctx: JobContext) { return { rowsProcessed: rows } } })
`

describe('job files in an ETL_JOBS_PATH folder', () => {
  it("import from 'nightshift' in .mjs and .ts files, and run", async () => {
    const dir = jobsFolder('ok', { 'answer.mjs': usesPackage, 'typed/typed_answer.ts': typed })
    const env = { ...tw.env, ETL_JOBS_PATH: dir }
    const jobs = await etl(['jobs', '--json'], env)
    expect(jobs.code, jobs.stderr).toBe(0)
    expect((JSON.parse(jobs.stdout) as { name: string }[]).map((j) => j.name)).toEqual(expect.arrayContaining(['answer', 'typed_answer']))
    const run = await etl(['run-job', '--job', 'answer'], env)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/answer\s+-\s+SUCCESS\s+42/)
    const ts = await etl(['run-job', '--job', 'typed_answer'], env)
    expect(ts.code, ts.stderr).toBe(0)
    expect(ts.stdout).toMatch(/typed_answer\s+-\s+SUCCESS\s+7/)
  })

  it('refuses a misspelled field with the file, the field and a suggestion (exit 2)', async () => {
    const dir = jobsFolder('typo', { 'nightly.mjs': "export default { kind: 'custom', partiton: 'week', async run() { return {} } }\n" })
    const result = await etl(['run-job', '--job', 'nightly', '--date', '2025-01-15'], { ...tw.env, ETL_JOBS_PATH: dir })
    expect(result.code).toBe(2)
    expect(errorLines(result.stderr)).toEqual([`etl: ${path.join(dir, 'nightly.mjs')}: unknown field 'partiton'; did you mean 'partition'?`])
  })

  it('names the file, line and column of a syntax error (exit 2)', async () => {
    const dir = jobsFolder('syntax', { 'broken.mjs': "export default {\n  kind: 'custom',\n  run: async () => ({}))\n}\n" })
    const result = await etl(['run-job', '--job', 'broken'], { ...tw.env, ETL_JOBS_PATH: dir })
    expect(result.code).toBe(2)
    expect(errorLines(result.stderr)).toEqual([`etl: ${path.join(dir, 'broken.mjs')}:3:24: syntax error: Expected "}" but found ")"`])
  })

  it('refuses a folder that does not exist as the environment (exit 3), naming it', async () => {
    const missing = path.join(home, 'not-there')
    const result = await etl(['jobs'], { ...tw.env, ETL_JOBS_PATH: missing })
    expect(result.code).toBe(3)
    expect(errorLines(result.stderr)).toEqual([`etl: ETL_JOBS_PATH: the folder ${missing} does not exist`])
  })

  describe('one broken file among good ones', () => {
    let env: Record<string, string>
    let broken: string
    beforeAll(() => {
      const dir = jobsFolder('mixed', {
        'report.mjs': "export default { kind: 'custom', dependsOn: ['exploding'], async run() { return {} } }\n",
        'exploding.mjs': "throw new Error('cannot load me')\n",
      })
      broken = path.join(dir, 'exploding.mjs')
      // the package's own fixtures (fx_write) stay usable beside the broken folder
      env = { ...tw.env, ETL_JOBS_PATH: `${fixtureJobs}:${dir}` }
    })

    it('does not stop a command that does not select it: it runs, with one warning naming the file', async () => {
      const result = await etl(['run-job', '--job', 'fx_write', '--date', '2025-01-15'], env)
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(/fx_write\s+2025-01-15\s+SUCCESS/)
      const warnings = result.stderr.split('\n').filter((l) => l.includes('is left out'))
      expect(warnings).toHaveLength(2)
      expect(warnings.join('\n')).toContain(`${broken}: cannot be loaded: cannot load me`)
      expect(warnings.join('\n')).toContain("depends on 'exploding', which cannot be loaded")
    })

    it('fails a command that selects it, or a job depending on it (exit 2)', async () => {
      for (const job of ['exploding', 'report']) {
        const result = await etl(['run-job', '--job', job, '--date', '2025-01-15'], env)
        expect(result.code, job).toBe(2)
        expect(errorLines(result.stderr).at(-1)).toMatch(job === 'exploding' ? /cannot load me/ : /depends on 'exploding'/)
      }
    })

    it('is reported by etl jobs (exit 2) and etl check (an alert, exit 1)', async () => {
      const jobs = await etl(['jobs'], env)
      expect(jobs.code).toBe(2)
      expect(jobs.stdout).toMatch(/fx_write/)
      expect(errorLines(jobs.stderr)).toEqual([
        `etl: job 'exploding' is left out: ${broken}: cannot be loaded: cannot load me`,
        expect.stringMatching(/^etl: job 'report' is left out: .*depends on 'exploding'/),
      ])
      const check = await etl(['check', '--json'], env)
      expect(check.code).toBe(1)
      const alerts = (JSON.parse(check.stdout) as { alerts: { type: string; job: string }[] }).alerts
      expect(alerts.filter((a) => a.type === 'broken_job').map((a) => a.job)).toEqual(['exploding', 'report'])
    })
  })
})
