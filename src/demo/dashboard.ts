import { sql, type RawBuilder } from 'kysely'
import type { Database } from '../db/database.js'
import { demoDay, localTime, type DemoPlan } from './plan.js'
import { intBetween, pickFrom, randomFor, secondsWithin } from './random.js'

/**
 * The five source tables of the original design's collections dashboard, which the example
 * table-sync jobs (jobs/table-sync) copy into the warehouse: a daily snapshot per file,
 * portfolio and service, its daily evolution, case assignments, agents' operations and their
 * daily productivity. Filled like the rest of the demo: set-based, from md5 of (seed, table,
 * row, field), over the demo's days, so the same seed gives the same rows.
 */
const CARTERAS = ['CONSUMO', 'HIPOTECARIO', 'TARJETAS', 'PYMES'] as const
const SERVICIOS = ['TEMPRANA', 'TARDIA', 'JUDICIAL'] as const
const TIPOS = ['LLAMADA', 'SMS', 'EMAIL', 'VISITA'] as const
const RESULTADOS = ['CONTACTO', 'SIN_CONTACTO', 'PROMESA', 'PAGO', 'RECHAZO'] as const

const SCHEMA = `
create table if not exists dashboard_data (
  fecha_foto       date not null,
  archivo          text not null,
  cartera          text not null,
  servicio         text not null,
  clientes         integer not null,
  importe_deuda    numeric(14,2) not null,
  importe_cobrado  numeric(14,2) not null,
  updated_at       timestamptz not null,
  primary key (fecha_foto, archivo, cartera, servicio)
);
create table if not exists evolution_data (
  fecha              date not null,
  cartera            text not null,
  servicio           text not null,
  deuda_total        numeric(14,2) not null,
  cobrado_acumulado  numeric(14,2) not null,
  tasa_recuperacion  numeric(6,4) not null,
  updated_at         timestamptz not null,
  primary key (fecha, cartera, servicio)
);
create table if not exists assignment_data (
  fecha_asignacion  date not null,
  expediente_id     bigint not null,
  cartera           text not null,
  agente_id         integer not null,
  importe           numeric(12,2) not null,
  primary key (fecha_asignacion, expediente_id)
);
create table if not exists operation_data (
  occurred_at   timestamptz not null,
  operation_id  bigint not null,
  agente_id     integer not null,
  expediente_id bigint not null,
  tipo          text not null,
  resultado     text not null,
  duracion_s    integer not null,
  primary key (occurred_at, operation_id)
);
create index if not exists operation_data_occurred_at on operation_data (occurred_at);
create table if not exists productivity_data (
  fecha              date not null,
  agente_id          integer not null,
  llamadas           integer not null,
  contactos          integer not null,
  promesas           integer not null,
  importe_prometido  numeric(12,2) not null,
  updated_at         timestamptz not null,
  primary key (fecha, agente_id)
);
create index if not exists productivity_data_updated_at on productivity_data (updated_at);`

export const DASHBOARD_TABLES = ['dashboard_data', 'evolution_data', 'assignment_data', 'operation_data', 'productivity_data'] as const

/** Creates the dashboard source tables when missing and fills them when dashboard_data is empty, in one transaction. */
export async function fillDashboard(source: Database, plan: DemoPlan): Promise<void> {
  await source.exec(SCHEMA)
  await source.db.transaction().execute(async (trx) => {
    await sql`set local timezone to 'UTC'`.execute(trx)
    await sql`lock table dashboard_data in exclusive mode`.execute(trx)
    const { rows } = await sql<{ found: boolean }>`select exists (select 1 from dashboard_data) as found`.execute(trx)
    if (rows[0]!.found) return
    for (const step of [snapshots, evolution, assignments, operations, productivity]) await step(plan).execute(trx)
  })
}

const days = (plan: DemoPlan) => sql`generate_series(0, ${sql.lit(plan.days - 1)}) k`
/** Rows of a day are written that evening, about 20:00 local. */
const evening = (plan: DemoPlan, r: RawBuilder<number>) => localTime(plan, demoDay(plan, sql`k`), sql`interval '20 hours' + ${secondsWithin(r, 3600)}`)

function snapshots(plan: DemoPlan) {
  const r = randomFor(plan.seed, 'dashboard_data', sql`k || ':' || a || ':' || c || ':' || s`)
  return sql`
    insert into dashboard_data
    select ${demoDay(plan, sql`k`)}, 'A' || lpad(a::text, 2, '0'), c, s,
      ${intBetween(r('clientes'), 50, 900)}, round((${r('deuda')} * 900000 + 10000)::numeric, 2),
      round((${r('cobrado')} * 60000)::numeric, 2), ${evening(plan, r('at'))}
    from ${days(plan)}, generate_series(1, ${sql.lit(plan.tenants)}) a,
      unnest(${arr(CARTERAS)}) c, unnest(${arr(SERVICIOS)}) s`
}

function evolution(plan: DemoPlan) {
  const r = randomFor(plan.seed, 'evolution_data', sql`k || ':' || c || ':' || s`)
  return sql`
    insert into evolution_data
    select ${demoDay(plan, sql`k`)}, c, s, round((1000000 + ${r('deuda')} * 4000000)::numeric, 2),
      round(((k + 1) * 20000 + ${r('cobrado')} * 50000)::numeric, 2), round((0.02 + ${r('tasa')} * 0.2)::numeric, 4),
      ${evening(plan, r('at'))}
    from ${days(plan)}, unnest(${arr(CARTERAS)}) c, unnest(${arr(SERVICIOS)}) s`
}

function assignments(plan: DemoPlan) {
  const perDay = Math.max(10, Math.round(plan.learners / 10))
  const r = randomFor(plan.seed, 'assignment_data', sql`g`)
  return sql`
    insert into assignment_data
    select ${demoDay(plan, sql`((g - 1) / ${sql.lit(perDay)})::int`)}, g, ${pickFrom(r('cartera'), CARTERAS)},
      ${intBetween(r('agente'), 1, plan.users)}, round((50 + ${r('importe')} * 20000)::numeric, 2)
    from generate_series(1, ${sql.lit(perDay * plan.days)}) g`
}

function operations(plan: DemoPlan) {
  const perDay = Math.max(20, Math.round(plan.learners / 2))
  const r = randomFor(plan.seed, 'operation_data', sql`g`)
  const day = sql`((g - 1) / ${sql.lit(perDay)})::int`
  return sql`
    insert into operation_data
    select ${localTime(plan, demoDay(plan, day), sql`interval '8 hours' + ${secondsWithin(r('at'), 11 * 3600)}`)}, g,
      ${intBetween(r('agente'), 1, plan.users)}, ${intBetween(r('expediente'), 1, Math.max(10, Math.round(plan.learners / 10)) * plan.days)},
      ${pickFrom(r('tipo'), TIPOS)}, ${pickFrom(r('resultado'), RESULTADOS)}, ${intBetween(r('duracion'), 5, 900)}
    from generate_series(1, ${sql.lit(perDay * plan.days)}) g`
}

function productivity(plan: DemoPlan) {
  const r = randomFor(plan.seed, 'productivity_data', sql`k || ':' || a`)
  return sql`
    insert into productivity_data
    select ${demoDay(plan, sql`k`)}, a, calls, least(calls, ${intBetween(r('contactos'), 0, 60)}), ${intBetween(r('promesas'), 0, 12)},
      round((${r('importe')} * 8000)::numeric, 2), ${evening(plan, r('at'))}
    from ${days(plan)}, generate_series(1, ${sql.lit(plan.users)}) a,
      lateral (select ${intBetween(r('llamadas'), 10, 120)} as calls) c`
}

function arr(values: readonly string[]): RawBuilder<string[]> {
  return sql<string[]>`array[${sql.join(values.map((v) => sql.lit(v)))}]::text[]`
}
