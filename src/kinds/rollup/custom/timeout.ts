/**
 * The statement timeout of a custom metric's query, in ms: the default and the most one may ask
 * for. One bound for `etl metric test|calc`, `POST /metrics/calculate` and the daily
 * `calc_custom_metrics` run (its `statementTimeoutMs`). A module of its own: `etl --help` reads it.
 */
export const METRIC_TIMEOUT_MS = { default: 30_000, max: 3_600_000 } as const
