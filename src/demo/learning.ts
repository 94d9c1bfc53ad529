import { sql, type RawBuilder } from 'kysely'
import { localTime, SUBJECTS, type DemoPlan } from './plan.js'
import { computeOnce, intBetween, randomFor, seconds, secondsWithin } from './random.js'
import { eachDemoDay, learnerSpans, weekdayShare } from './spans.js'

const DAY = 86_400

/**
 * Homework set on school days, handed in from half an hour to four days later; only what was
 * handed in before the learner's stretch ended exists yet. Some is not graded (score null); more
 * than three days is 'late'. Grading is an update (updated_at after created_at).
 */
export function insertHomework(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'homework_submissions', sql`learner_id || ':' || k`)
  const lastMoment = sql`${plan.windowEnd} - ${seconds(1)}`
  return sql`
    insert into homework_submissions (id, tenant_id, learner_id, subject_id, assigned_at, submitted_at, score, status,
      created_at, updated_at)
    select row_number() over (order by submitted_at, learner_id, k), tenant_id, learner_id, subject_id,
      assigned_at, submitted_at, score,
      case when submitted_at > assigned_at + ${seconds(3 * DAY)} then 'late'
           when score is null then 'submitted'
           else 'graded' end,
      submitted_at,
      case when score is null then submitted_at
           else greatest(submitted_at, least(submitted_at + ${secondsWithin(r('graded'), DAY)}, ${lastMoment})) end
    from (
      select h.*, assigned_at + ${seconds(1800)} + ${secondsWithin(sql<number>`${r('delay')} * ${r('delay')}`, 4 * DAY)} as submitted_at
      from (
        select l.*, k, ${localTime(plan, sql`day`, sql`${seconds(8 * 3600)} + ${secondsWithin(r('at'), 7 * 3600)}`)} as assigned_at,
          ${intBetween(r('subject'), 1, SUBJECTS.length)} as subject_id,
          case when ${r('ungraded')} >= 0.12 then round((100 * (1 - ${r('score')} * ${r('score')}))::numeric, 2) end as score
        from ${learnerSpans(plan)} l
        ${eachDemoDay(plan)}
        where ${r('assigned')} < 0.12 * ${weekdayShare(0.1, 0.1)}
        ${computeOnce}
      ) h
      where assigned_at >= active_from
      ${computeOnce}
    ) h
    where submitted_at < active_to`
}

/**
 * Mastery of the skills a learner practised (up to 20 picks, duplicates merged), updated at
 * some moment of their stretch in the window. More attempts, more mastery.
 */
export function insertSkillMastery(plan: DemoPlan): RawBuilder<unknown> {
  const pick = randomFor(plan.seed, 'skill_mastery', sql`l.learner_id || ':' || pick`)
  const r = randomFor(plan.seed, 'skill_mastery', sql`learner_id || ':' || skill_id`)
  return sql`
    insert into skill_mastery (tenant_id, learner_id, skill_id, mastery_level, attempts, updated_at)
    select tenant_id, learner_id, skill_id, round((attempts / 41.0 * 0.6 + 0.4 * ${r('level')})::numeric, 4), attempts,
      active_from + ${secondsWithin(r('updated'), sql`extract(epoch from active_to - active_from)::float8`)}
    from (
      select distinct l.learner_id, l.tenant_id, l.active_from, l.active_to,
        ${intBetween(pick('skill'), 1, plan.skills)} as skill_id
      from ${learnerSpans(plan)} l
      cross join generate_series(1, 20) pick
      where ${pick('practised')} < 0.75
    ) practised
    cross join lateral (select ${intBetween(r('attempts'), 1, 40)} as attempts ${computeOnce}) a`
}

/**
 * Recommended skills, up to two a day: about half accepted, a quarter dismissed, the rest still
 * open — as are those whose decision would fall after the learner's stretch ends.
 */
export function insertRecommendations(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'recommendations', sql`learner_id || ':' || k || ':' || slot`)
  return sql`
    insert into recommendations (id, tenant_id, learner_id, skill_id, recommended_at, accepted, accepted_at,
      created_at, updated_at)
    select row_number() over (order by recommended_at, learner_id, k, slot), tenant_id, learner_id, skill_id,
      recommended_at, case when decided then verdict end, case when decided and verdict then decided_at end,
      recommended_at, case when decided then decided_at else recommended_at end
    from (
      select c.*, verdict is not null and decided_at < active_to as decided
      from (
        select l.*, k, slot, recommended_at, ${intBetween(r('skill'), 1, plan.skills)} as skill_id,
          case when ${r('verdict')} < 0.5 then true when ${r('verdict')} < 0.75 then false end as verdict,
          recommended_at + ${seconds(60)} + ${secondsWithin(sql<number>`${r('delay')} * ${r('delay')}`, 12 * 3600)} as decided_at
        from ${learnerSpans(plan)} l
        ${eachDemoDay(plan)}
        cross join generate_series(1, 2) slot
        cross join lateral (
          select ${localTime(plan, sql`day`, sql`${seconds(6 * 3600)} + ${secondsWithin(r('at'), 16 * 3600)}`)} as recommended_at
          ${computeOnce}
        ) rec
        where ${r('happens')} < 0.12 * ${weekdayShare(0.5, 0.5)}
        ${computeOnce}
      ) c
      where recommended_at >= active_from and recommended_at < active_to
    ) d`
}
