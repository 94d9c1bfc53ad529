import { defineConfig } from 'vitest/config'

/**
 * Database tests run twice: on a PostgreSQL server (TEST_DATABASE_URL, else testcontainers) and
 * on the embedded PGlite. Unit tests run once.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // two cores: files of one project in parallel would only fight over them
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', include: ['test/db/**/*.test.ts'], env: { NS_TEST_DB: 'postgres' } } },
      { extends: true, test: { name: 'pglite', include: ['test/db/**/*.test.ts'], env: { NS_TEST_DB: 'pglite' } } },
    ],
  },
})
