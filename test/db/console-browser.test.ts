import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEtl, startServe } from '../helpers/cli.js'
import { artifact, hasChromium, launchChromium } from '../helpers/browser.js'
import { testDbKind } from '../helpers/db.js'
import { consoleScenario, FAILED_DAY, LAST_DAY, MARKUP_DAY, RETRIED_DAY, type ConsoleScenario } from '../helpers/console-scenario.js'

/*
 * The run console in a real browser (Debian's chromium), on a warehouse the demo filled, with a
 * failure retried, one left failed, a rebuilt upstream and a RUNNING row whose process is gone:
 * the one-file report opened from file:// with the network cut, and `etl serve`'s pages behind
 * the login. Runs on the server project only: the pages read the same ledger functions on both
 * databases (the CLI tests cover PGlite), and one browser run is what two cores can afford.
 */
const TOKEN = 'console-test-token-0123456789'
const run = testDbKind() === 'postgres' && hasChromium()
const why = run ? '' : testDbKind() === 'postgres' ? ' (skipped: /usr/bin/chromium is not installed)' : ' (skipped: the browser test runs in the postgres project)'
let scenario: ConsoleScenario
let browser: Browser
let dir: string

beforeAll(async () => {
  if (!run) return
  scenario = await consoleScenario()
  browser = await launchChromium()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-report-'))
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await scenario?.drop()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

// run in the page: the browser's globals, which this project's TypeScript (no DOM lib) does not declare
const browserGlobal = globalThis as unknown as { getComputedStyle(el: unknown): { backgroundColor: string }; __xss?: number; document: { cookie: string } }
const colourOf = (page: Page, selector: string) => page.locator(selector).first().evaluate((el) => (globalThis as unknown as typeof browserGlobal).getComputedStyle(el).backgroundColor)
const cell = (job: string, day: string) => `tr[data-job="${job}"] td[data-day="${day}"]`

/** What a person sees on the Partitions page of either the report or the live pages. */
async function expectPartitions(page: Page): Promise<void> {
  await expect.poll(() => page.locator('#grid tr[data-job]').count()).toBeGreaterThan(20)
  expect(await page.locator(cell('build_fact_focus_events', FAILED_DAY)).getAttribute('data-state')).toBe('FAILED')
  expect(await page.locator(cell('build_fact_sessions', RETRIED_DAY)).getAttribute('data-state')).toBe('SUCCESS')
  expect(await page.locator(cell('aggregate_daily_metrics', RETRIED_DAY)).getAttribute('data-state')).toBe('STALE')
  expect(await page.locator(cell('calc_custom_metrics', LAST_DAY)).getAttribute('data-state')).toBe('GONE')
  expect(await page.locator(cell('build_fact_sessions', '2025-01-03')).getAttribute('data-state')).toBe('NEVER')
  expect(await colourOf(page, cell('build_fact_focus_events', FAILED_DAY))).toBe('rgb(214, 69, 69)')
  expect(await colourOf(page, cell('build_fact_sessions', RETRIED_DAY))).toBe('rgb(46, 158, 91)')
  expect(await colourOf(page, cell('aggregate_daily_metrics', RETRIED_DAY))).toBe('rgb(227, 195, 65)')
  // hover: the attempt history, with rows and duration
  const title = await page.locator(cell('build_fact_sessions', RETRIED_DAY)).getAttribute('title')
  expect(title).toMatch(/#1 SUCCESS .* rows/)
  expect(title).toMatch(/#2 FAILED .*42703: column s\.duration_seconds does not exist/)
  expect(title).toMatch(/#3 SUCCESS .*rows · \d+ ms/)
  // the markup in an error message is text: in the tooltip, never run
  expect(await page.locator(cell('build_fact_homework_events', MARKUP_DAY)).getAttribute('title')).toContain('<script>window.__xss = 1</script>')
  expect(await page.evaluate(() => (globalThis as unknown as typeof browserGlobal).__xss)).toBeUndefined()
}

async function expectRuns(page: Page, scenario: ConsoleScenario): Promise<void> {
  const failed = page.locator(`details[id="run-${scenario.failedRunId}"]`)
  const retry = page.locator(`details[id="run-${scenario.retryRunId}"]`)
  expect(await failed.getAttribute('data-kind')).toBe('run')
  expect(await retry.getAttribute('data-kind')).toBe('retry')
  expect(await failed.locator('code').first().textContent()).toBe(`etl retry --run-id ${scenario.failedRunId}`)
  const backfill = page.locator('details[data-kind="backfill"]')
  await backfill.locator('summary').click()
  const bars = backfill.locator('.gantt .bar')
  expect(await bars.count()).toBe(76)
  const box = await bars.nth(10).boundingBox()
  expect(box!.width).toBeGreaterThan(0)
  expect(await bars.first().evaluate((el) => (globalThis as unknown as typeof browserGlobal).getComputedStyle(el).backgroundColor)).toBe('rgb(46, 158, 91)')
}

async function expectLineage(page: Page): Promise<void> {
  const jobs = page.locator('#lineage-graph g.node[data-kind="job"]')
  expect(await jobs.count()).toBe(27)
  expect(await page.locator('#lineage-graph g.node[data-kind="table"]').count()).toBeGreaterThan(10)
  expect(await page.locator('#lineage-graph path.edge').count()).toBeGreaterThan(30)
  expect(await page.locator('g.node[data-id="job:build_fact_focus_events"]').getAttribute('data-freshness')).toBe('failed')
  expect(await page.locator('g.node[data-id="job:build_fact_sessions"]').getAttribute('data-freshness')).toBe('fresh')
}

describe.skipIf(!run)(`etl report: one file that opens offline${why}`, () => {
  let page: Page
  const requests: string[] = []

  beforeAll(async () => {
    const file = path.join(dir, 'report.html')
    const r = await scenario.etl(['report', '--out', file])
    expect(r.code, r.stderr).toBe(0)
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
    // the network is cut: anything but the file itself is refused (and recorded)
    await context.route('**/*', (route) => {
      if (route.request().url().startsWith('file:')) return route.continue()
      requests.push(route.request().url())
      return route.abort()
    })
    page = await context.newPage()
    page.setDefaultTimeout(5_000)
    await page.goto(pathToFileURL(file).href)
  })

  it('shows the partitions grid coloured by state, with attempt history on hover', async () => {
    await expectPartitions(page)
    await page.screenshot({ path: artifact('report-partitions.png') })
  })

  it('shows the runs newest first with their timelines and retry commands', async () => {
    await page.locator('header nav a', { hasText: 'Runs' }).click()
    // the click shows the section by its #anchor: wait for it, under load it is not instant
    await page.locator('section#runs').waitFor({ state: 'visible' })
    expect(await page.locator('section#partitions').isVisible()).toBe(false)
    await expectRuns(page, scenario)
    await page.screenshot({ path: artifact('report-runs.png') })
  })

  it('draws the lineage graph; a node opens its job, whose charts uPlot draws', async () => {
    await page.locator('header nav a', { hasText: 'Lineage' }).click()
    await expectLineage(page)
    await page.locator('g.node[data-id="job:build_fact_sessions"]').click()
    expect(page.url()).toMatch(/#job-build_fact_sessions$/)
    const job = page.locator('section#job-build_fact_sessions')
    await job.waitFor({ state: 'visible' })
    await expect.poll(() => job.locator('.uplot canvas').count()).toBe(2)
    expect(await job.locator('.chart .u-legend').first().textContent()).toContain('trailing median')
    expect(await job.locator('pre.definition').textContent()).toContain('target: fact_sessions')
    expect(await job.textContent()).toContain('every day at 02:00 UTC')
    await page.screenshot({ path: artifact('report-job.png'), fullPage: false })
  })

  it('shows health: what etl check says and the success rate chart', async () => {
    await page.locator('header nav a', { hasText: 'Health' }).click()
    expect(await page.locator('#check-verdict').textContent()).toBe('3 alerts')
    expect(await page.locator('tr[data-alert="abandoned"]').count()).toBe(1)
    await expect.poll(() => page.locator('#health-rate canvas').count()).toBeGreaterThan(0)
    await page.screenshot({ path: artifact('report-health.png') })
  })

  it('asked for nothing over the network', () => {
    expect(requests).toEqual([])
  })
})

describe.skipIf(!run)(`etl serve: the live pages behind a login${why}`, () => {
  let server: ReturnType<typeof startEtl> & { url: string }
  let page: Page

  beforeAll(async () => {
    const redis: Record<string, string> = process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}
    server = await startServe({ ...scenario.env, ...redis, ETL_ADMIN_TOKEN: TOKEN }, 200)
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
    page.setDefaultTimeout(5_000)
  })

  afterAll(async () => {
    server?.child.kill('SIGTERM')
    await server?.done
  })

  it('serves nothing without the token: pages send to the login form, the JSON API answers 401', async () => {
    const r = await fetch(`${server.url}/console/runs`, { redirect: 'manual' })
    expect(r.status).toBe(303)
    expect(r.headers.get('location')).toBe('/console/login')
    expect((await fetch(`${server.url}/status`)).status).toBe(401)
    const wrongBearer = await fetch(`${server.url}/console/partitions`, { redirect: 'manual', headers: { Authorization: 'Bearer nope' } })
    expect(wrongBearer.status).toBe(303)
  })

  it('refuses a wrong token, then logs in with the right one into an HttpOnly, SameSite=Strict cookie', async () => {
    await page.goto(`${server.url}/console/partitions`)
    expect(page.url()).toBe(`${server.url}/console/login`)
    await page.fill('#token', 'wrong')
    await page.click('#login button')
    expect(await page.locator('.login .error').textContent()).toContain('not the admin token')
    await page.fill('#token', TOKEN)
    await page.click('#login button')
    expect(page.url()).toBe(`${server.url}/console/partitions`)
    const [cookie] = await page.context().cookies()
    expect(cookie).toMatchObject({ name: 'ns_console', httpOnly: true, sameSite: 'Strict', path: '/console' })
    expect(await page.evaluate(() => (globalThis as unknown as typeof browserGlobal).document.cookie)).toBe('')
  })

  it('shows the same grid live; a cell opens its job and back returns to the grid', async () => {
    await page.goto(`${server.url}/console/partitions?from=2025-01-02&to=${LAST_DAY}`)
    await expectPartitions(page)
    await page.screenshot({ path: artifact('serve-partitions.png') })
    await page.locator(`${cell('build_fact_focus_events', FAILED_DAY)} a`).click()
    expect(page.url()).toBe(`${server.url}/console/jobs/build_fact_focus_events?partition=${FAILED_DAY}`)
    expect(await page.locator('h1').textContent()).toBe('build_fact_focus_events')
    // the clicked partition's history first: the demo's SUCCESS, then the failure
    const history = page.locator('#partition table.attempts tr')
    expect(await history.count()).toBe(3)
    expect(await history.nth(1).textContent()).toContain('FAILED')
    expect(await history.nth(2).textContent()).toContain('SUCCESS')
    expect(await page.locator('table.failures').textContent()).toContain('42703: column e.focus_score does not exist')
    await expect.poll(() => page.locator('.uplot canvas').count()).toBe(2)
    await page.goBack()
    expect(page.url()).toContain('/console/partitions')
    await page.locator('#grid').waitFor({ state: 'visible' })
  })

  it('filters the grid by job and kind', async () => {
    await page.goto(`${server.url}/console/partitions?kind=fact`)
    const visible = await page.locator('#grid tr[data-job]:visible').count()
    expect(visible).toBe(5)
    await page.fill('#f-job', 'sessions')
    expect(await page.locator('#grid tr[data-job]:visible').count()).toBe(1)
  })

  it('shows runs, lineage and health live', async () => {
    await page.goto(`${server.url}/console/runs`)
    await expectRuns(page, scenario)
    await page.goto(`${server.url}/console/lineage`)
    await expectLineage(page)
    await page.goto(`${server.url}/console/health`)
    expect(await page.locator('#check-verdict').textContent()).toBe('3 alerts')
    // with REDIS_URL set, the cache's hit rate (no reads counted yet in this scenario: '-')
    if (process.env.REDIS_URL) expect(await page.locator('#cache-rate').count()).toBe(1)
    else expect(await page.textContent('main')).toContain('REDIS_URL is not set')
    await page.screenshot({ path: artifact('serve-health.png') })
  })

  it('runs a partition from its job page (a POST with the CSRF token) and shows the new run', async () => {
    await page.goto(`${server.url}/console/jobs/build_fact_learning_progress`)
    await page.fill('input[name="date"]', '2025-01-10')
    await page.click('#run-job')
    await page.waitForURL(/\/console\/runs#run-/)
    const newest = page.locator('details.run').first()
    expect(await newest.getAttribute('data-kind')).toBe('run')
    // it was SUCCESS already, and the form did not ask to force
    expect(await newest.locator('.badge').first().textContent()).toBe('1 SKIPPED')
    expect(await newest.textContent()).toContain('via console')
  })

  it('refuses a POST without the CSRF token, and one from another origin', async () => {
    const cookie = (await page.context().cookies())[0]!
    const headers = { Cookie: `ns_console=${cookie.value}`, 'Content-Type': 'application/x-www-form-urlencoded' }
    const none = await fetch(`${server.url}/console/jobs/build_fact_sessions/run`, { method: 'POST', headers, body: 'date=2025-01-10', redirect: 'manual' })
    expect(none.status).toBe(403)
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute('value')
    const foreign = await fetch(`${server.url}/console/jobs/build_fact_sessions/run`, {
      method: 'POST',
      headers: { ...headers, Origin: 'http://evil.example' },
      body: `date=2025-01-10&csrf=${encodeURIComponent(csrf!)}`,
      redirect: 'manual',
    })
    expect(foreign.status).toBe(403)
    // an unknown job is a 404 page that shows the name as text
    const unknown = await fetch(`${server.url}/console/jobs/${encodeURIComponent('<script>x</script>')}`, { headers })
    expect(unknown.status).toBe(404)
    const body = await unknown.text()
    expect(body).not.toContain('<script>x</script>')
    expect(body).toContain('&lt;script&gt;x&lt;/script&gt;')
  })

  it('retries a failed run from its Runs entry (a POST with the CSRF token) and shows the new run', async () => {
    await page.goto(`${server.url}/console/runs#run-${scenario.leftFailedRunId}`)
    const entry = page.locator(`details[id="run-${scenario.leftFailedRunId}"]`)
    await entry.locator('summary').click()
    await entry.locator('form button').click()
    await page.waitForURL(/\/console\/runs#run-/)
    const newest = page.locator('details.run').first()
    expect(await newest.getAttribute('data-kind')).toBe('retry')
    // the scenario put the source column back: the retry succeeds
    expect(await newest.locator('.badge').first().textContent()).toBe('1 SUCCESS')
  })

  it('logs out: the cookie is gone and the pages send to the login form again', async () => {
    await page.goto(`${server.url}/console/health`)
    await page.click('#logout')
    expect(page.url()).toBe(`${server.url}/console/login`)
    await page.goto(`${server.url}/console/health`)
    expect(page.url()).toBe(`${server.url}/console/login`)
  })
})
