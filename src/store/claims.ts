import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { DialectName } from './db.js';
import type { Database } from './schema.js';

/**
 * A scheduler whose heartbeat is this much older than the claiming scheduler's gets no share
 * of new runs (it loses the runs it holds only once it is stale, see staleSchedulerMs).
 */
export const CLAIM_PEER_WINDOW_MS = 10_000;

const ACTIVE = ['queued', 'running'] as const;

/** What a claiming scheduler needs to know: how many runs it may still take. */
export interface ClaimPlan {
  /** Schedulers sharing the active runs, the claimer included. */
  readonly peers: number;
  /** Active runs in all. */
  readonly active: number;
  /** Active runs the claimer holds already. */
  readonly mine: number;
  /** Active runs nobody live holds (unclaimed, or held by a dead scheduler). */
  readonly claimable: number;
  /** Runs it may claim now: up to its fair share, ⌈active ÷ peers⌉. */
  readonly take: number;
}

/** How many runs `me` may claim, so that live schedulers share the active runs evenly. */
export async function planClaim(db: Kysely<Database>, me: string, dead: readonly string[], limit: number): Promise<ClaimPlan> {
  const [schedulers, holders] = await Promise.all([
    db.selectFrom('scheduler').select(['id', 'heartbeat_at']).execute(),
    db
      .selectFrom('dag_run')
      .select(['claimed_by', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', ACTIVE)
      .groupBy('claimed_by')
      .execute(),
  ]);
  const ref = schedulers.find((s) => s.id === me)?.heartbeat_at ?? Math.max(0, ...schedulers.map((s) => s.heartbeat_at));
  const live = new Set(schedulers.filter((s) => !dead.includes(s.id) && s.heartbeat_at >= ref - CLAIM_PEER_WINDOW_MS).map((s) => s.id));
  live.add(me);
  let active = 0;
  let mine = 0;
  let claimable = 0;
  for (const h of holders) {
    const n = Number(h.n);
    active += n;
    if (h.claimed_by === me) mine += n;
    else if (h.claimed_by == null || dead.includes(h.claimed_by)) claimable += n;
  }
  const share = Math.ceil(active / live.size);
  const take = Math.max(0, Math.min(limit, claimable, share - mine));
  return { peers: live.size, active, mine, claimable, take };
}

/**
 * Claims up to its fair share of the active runs that no live scheduler works on (unclaimed,
 * or held by a dead one), in one statement. The DAGs take turns: each DAG's oldest run comes
 * first, then each DAG's second oldest, and so on, so a DAG catching up on thousands of queued
 * runs does not keep another DAG's new run unclaimed. The guard repeats the condition, so a
 * run is never taken from a scheduler that claimed it meanwhile. Returns how many runs it took.
 */
export async function claimFairShare(db: Kysely<Database>, dialect: DialectName, me: string, dead: readonly string[], limit: number): Promise<number> {
  const plan = await planClaim(db, me, dead, limit);
  if (plan.take === 0) return 0;
  if (dialect === 'postgres') return claimOnPostgres(db, me, dead, plan.take);
  const claimable = (eb: ExpressionBuilder<Database, 'dag_run'>) =>
    eb.and([
      eb('dag_run.state', 'in', ACTIVE),
      dead.length ? eb.or([eb('dag_run.claimed_by', 'is', null), eb('dag_run.claimed_by', 'in', dead)]) : eb('dag_run.claimed_by', 'is', null),
    ]);
  const ranked = db
    .selectFrom('dag_run')
    .select(['dag_run.dag_id', 'dag_run.run_id', 'dag_run.queued_at', sql<number>`row_number() over (partition by dag_run.dag_id order by dag_run.queued_at)`.as('turn')])
    .where(claimable)
    .as('ranked');
  const pick = db.selectFrom(ranked).select(['ranked.dag_id', 'ranked.run_id']).orderBy('ranked.turn').orderBy('ranked.queued_at').limit(plan.take);
  const r = await db
    .updateTable('dag_run')
    .set({ claimed_by: me })
    .where((eb) => eb(eb.refTuple('dag_id', 'run_id'), 'in', pick.$asTuple('dag_id', 'run_id')))
    .where(claimable)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Postgres: each DAG's oldest claimable runs, up to `take` per DAG, are locked first, skipping
 * rows another claimer holds, so concurrent claimers take disjoint runs, each up to its share.
 * Then the DAGs take turns among the locked rows (row locks and a window function cannot be in
 * one query level). The update repeats the claimable condition.
 */
async function claimOnPostgres(db: Kysely<Database>, me: string, dead: readonly string[], take: number): Promise<number> {
  const active = sql.join(ACTIVE.map((s) => sql.lit(s)));
  const free = (t: string) =>
    dead.length
      ? sql`(${sql.ref(`${t}.claimed_by`)} is null or ${sql.ref(`${t}.claimed_by`)} in (${sql.join(dead)}))`
      : sql`${sql.ref(`${t}.claimed_by`)} is null`;
  const r = await sql`
    with locked as (
      select c.dag_id, c.run_id, c.queued_at
      from (select distinct dag_id from dag_run d where d.state in (${active}) and ${free('d')}) dags
      cross join lateral (
        select r.dag_id, r.run_id, r.queued_at from dag_run r
        where r.dag_id = dags.dag_id and r.state in (${active}) and ${free('r')}
        order by r.queued_at limit ${take}
        for update of r skip locked
      ) c
    ),
    picked as (
      select dag_id, run_id from (
        select dag_id, run_id, queued_at, row_number() over (partition by dag_id order by queued_at) as turn from locked
      ) ranked
      order by turn, queued_at limit ${take}
    )
    update dag_run set claimed_by = ${me}
    from picked
    where dag_run.dag_id = picked.dag_id and dag_run.run_id = picked.run_id
      and dag_run.state in (${active}) and ${free('dag_run')}`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

