import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for the 'postgres' project, or '' when none could be had. */
    serverUrl: string
  }
}

/**
 * Finds a PostgreSQL server once for the whole run: TEST_DATABASE_URL, else a testcontainers
 * container where a Docker engine exists, else none (the 'postgres' project then runs on PGlite
 * and its multi-process tests skip, saying why).
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('serverUrl', process.env.TEST_DATABASE_URL)
    return
  }
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:15').start()
    project.provide('serverUrl', container.getConnectionUri())
    return async () => {
      await container.stop()
    }
  } catch (error) {
    console.warn(`no PostgreSQL server for tests (TEST_DATABASE_URL unset, testcontainers: ${(error as Error).message.split('\n')[0]}); server tests run on PGlite`)
    project.provide('serverUrl', '')
  }
}
