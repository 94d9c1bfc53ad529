/**
 * The package's own job files, as (path under the package, default export) pairs, or undefined
 * when they are read from `jobs/` like any other folder (the TypeScript sources under vitest).
 * The build replaces this module with one that imports every file under `jobs/` statically
 * (scripts/build.mjs), so a cron tick compiles one chunk instead of importing thirty bundles.
 */
export const BUNDLED_JOBS: readonly (readonly [file: string, exported: unknown])[] | undefined = undefined
