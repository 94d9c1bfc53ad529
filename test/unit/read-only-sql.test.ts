import { describe, expect, it } from 'vitest'
import { hasSecondStatement } from '../../src/db/read-only-query.js'

describe('etl sql: one statement at a time', () => {
  it.each([
    ['select 1', false],
    ['select 1;', false],
    ['select 1;  -- the end\n', false],
    ['select 1; /* the end */', false],
    ["select ';' as a", false],
    ["select 'it''s; fine'", false],
    ["select E'a\\'; b'", false],
    ['select 1 as ";"', false],
    ['select $$;$$, $x$ ; $$ ; $x$', false],
    ['select 1 /* ; /* nested ; */ still ; */', false],
    ['select a$b from t -- ;\n', false],
    ['select 1; commit; drop table etl_job_runs', true],
    ["select 'x'; drop table t", true],
    ["select E'\\\\'; drop table t", true],
    ['select $$a$$; drop table t', true],
    ['select 1 -- c\n; select 2', true],
  ])('%j → %s', (text, expected) => {
    expect(hasSecondStatement(text)).toBe(expected)
  })
})
