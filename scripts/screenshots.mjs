// Regenerates the README's pictures of the run console (docs/img/console-*.png): runs the demo
// into a temporary embedded warehouse, breaks one source column to get a real failure, retries
// it, leaves a second failure, writes `etl report` and photographs each page with Debian's
// chromium (playwright-core; never a downloaded browser). `pnpm screenshots`, after a build.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { chromium } from 'playwright-core'

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname))
const out = path.join(root, 'docs/img')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-screenshots-'))
const base = { PATH: process.env.PATH, HOME: process.env.HOME, ETL_DATA_DIR: tmp, ETL_JOBS_PATH: '', ETL_TIMEZONE: 'UTC', LOG_LEVEL: 'warn' }

function etl(args, at, okCodes = [0]) {
  try {
    return execFileSync(process.execPath, [path.join(root, 'bin/etl.js'), ...args], { env: { ...base, ETL_NOW: at }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    if (okCodes.includes(error.status)) return error.stdout
    throw error
  }
}

async function onSource(statement) {
  const db = await PGlite.create({ dataDir: path.join(tmp, 'oltp') })
  await db.exec(statement)
  await db.close()
}

const newestRun = (at) => JSON.parse(etl(['runs', '--json', '--limit', '1'], at))[0].invocation_id

try {
  console.log(`demo into ${tmp}`)
  etl(['demo', '--days', '21'], '2025-01-16T06:00:00Z')
  await onSource('alter table public.sessions rename column duration_seconds to duration_s')
  etl(['run-job', '--job', 'build_fact_sessions', '--date', '2025-01-14', '--force'], '2025-01-16T07:00:00Z', [1])
  const failed = newestRun('2025-01-16T07:01:00Z')
  await onSource('alter table public.sessions rename column duration_s to duration_seconds')
  etl(['retry', '--run-id', failed], '2025-01-16T07:10:00Z')
  await onSource('alter table public.focus_events rename column focus_score to score')
  etl(['run-job', '--job', 'build_fact_focus_events', '--date', '2025-01-13', '--force'], '2025-01-16T07:20:00Z', [1])
  await onSource('alter table public.focus_events rename column score to focus_score')
  const report = path.join(tmp, 'report.html')
  etl(['report', '--out', report], '2025-01-16T09:00:00Z')

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  const page = await context.newPage()
  fs.mkdirSync(out, { recursive: true })
  for (const [name, anchor] of [['partitions', 'partitions'], ['runs', 'runs'], ['job', 'job-build_fact_sessions'], ['lineage', 'lineage'], ['health', 'health']]) {
    await page.goto(`${pathToFileURL(report).href}#${anchor}`)
    if (name === 'runs') await page.locator('details[data-kind="backfill"] summary').click()
    await page.waitForTimeout(200)
    await page.screenshot({ path: path.join(out, `console-${name}.png`) })
    console.log(`wrote docs/img/console-${name}.png`)
  }
  await browser.close()
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
