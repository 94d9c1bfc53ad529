import { sql, type RawBuilder } from 'kysely'
import { demoDay, localTime, SUBJECTS, type DemoPlan } from './plan.js'
import { computeOnce, hashOf, intBetween, quarterOf, randomFor, seconds, secondsWithin } from './random.js'
import { eachDemoDay, learnerSpans, weekdayShare } from './spans.js'

/** Share of sessions the app records only the next morning (a device that was offline). */
const LATE_SHARE = 0.03

/**
 * Sessions: each learner may show up in three slots a day (morning, afternoon, evening), more
 * often on weekdays and when engaged. The slots do not overlap, so a learner's sessions never
 * do. Ids follow started_at, as an app's sequence would.
 */
export function insertSessions(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'sessions', sql`learner_id || ':' || k || ':' || slot`)
  // starts between 07:00–11:00, 13:00–16:30 and 18:00–21:00: an hour at most, a session is over
  // before the next slot opens
  const slotStart = sql`(array[25200, 46800, 64800])[slot]`
  const slotLength = sql`(array[14400, 12600, 10800])[slot]`
  // the day after the last demo day has not happened yet, so nothing can arrive late into it
  const lastK = sql.lit(plan.days - 1)
  return sql`
    insert into sessions (id, tenant_id, learner_id, subject_id, started_at, ended_at, duration_seconds,
      activities_completed, correct_responses, total_responses, created_at, updated_at)
    select row_number() over (order by started_at, learner_id), tenant_id, learner_id, subject_id,
      started_at, ended_at, duration, activities, floor(total * accuracy)::int, total, created_at, created_at
    from (
      select timed.*,
        case when k < ${lastK} and ${r('late')} < ${sql.lit(LATE_SHARE)}
          then ${localTime(plan, demoDay(plan, sql`k + 1`), sql`${seconds(3600)} + ${secondsWithin(r('recorded'), 5 * 3600)}`)}
          else ended_at
        end as created_at
      from (
        select learner_id, tenant_id, k, slot, started_at, started_at + ${seconds(sql`duration`)} as ended_at,
          ${intBetween(r('subject'), 1, SUBJECTS.length)} as subject_id,
          duration, floor(duration / 60.0 * (0.3 + 0.7 * ${r('pace')}))::int as total,
          1 + floor(duration / 400.0 * ${r('activities')})::int as activities,
          least(1, ability * (0.7 + 0.6 * ${r('accuracy')})) as accuracy
        from (
          select l.*, k, slot, ${localTime(plan, sql`day`, sql`${seconds(slotStart)} + ${secondsWithin(r('start'), slotLength)}`)} as started_at,
            300 + floor(3300 * ${r('duration')} * ${r('duration')})::int as duration
          from ${learnerSpans(plan)} l
          ${eachDemoDay(plan)}
          cross join generate_series(1, 3) slot
          where ${r('happens')} < 0.3 * engagement * ${weekdayShare(0.35, 0.4)}
          ${computeOnce}
        ) candidate
        where started_at >= active_from and started_at < active_to
        ${computeOnce}
      ) timed
    ) s`
}

/**
 * Focus events inside each session (in [started_at, ended_at), in order), about one per four
 * minutes. Ids are dense and follow the sessions. Events of a late session arrive with it.
 */
export function insertFocusEvents(plan: DemoPlan): RawBuilder<unknown> {
  const perSession = randomFor(plan.seed, 'focus_events', sql`s.id`)
  const [type, at, score] = ([0, 1, 2] as const).map((q) => quarterOf(sql`h`, q))
  return sql`
    insert into focus_events (id, session_id, tenant_id, learner_id, event_type, focus_score, occurred_at, created_at)
    select first_id + k, id, tenant_id, learner_id, event_type,
      round((case event_type
        when 'focus' then 60 + 40 * ${score}
        when 'resume' then 50 + 45 * ${score}
        when 'blur' then 10 + 50 * ${score}
        else 40 * ${score}
      end)::numeric, 2),
      occurred_at,
      case when late then recorded_at else occurred_at + ${seconds(1)} end
    from (
      select s.*, sum(n) over (order by s.id) - n as first_id
      from (
        select s.id, s.tenant_id, s.learner_id, s.started_at, s.duration_seconds, s.created_at as recorded_at,
          s.created_at > s.ended_at as late,
          2 + floor(s.duration_seconds * (0.5 + ${perSession('count')}) / 240)::int as n
        from sessions s
        ${computeOnce}
      ) s
    ) s
    cross join lateral generate_series(1, s.n) k
    cross join lateral (select ${hashOf(plan.seed, 'focus_events', sql`s.id || ':' || k`)} as h ${computeOnce}) hashed
    cross join lateral (
      select case
          when k = 1 or ${type} < 0.45 then 'focus'
          when ${type} < 0.70 then 'blur'
          when ${type} < 0.85 then 'idle'
          else 'resume'
        end as event_type,
        s.started_at + ${seconds(sql`floor(s.duration_seconds * (k - 1 + ${at}) / s.n)`)} as occurred_at
      ${computeOnce}
    ) e`
}
