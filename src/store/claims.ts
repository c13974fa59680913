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
 * runs does not keep another DAG's new run unclaimed. On Postgres concurrent claimers skip each
 * other's locked rows; the outer guard repeats the condition, so a run is never taken from a
 * scheduler that claimed it meanwhile. Returns how many runs it took.
 */
export async function claimFairShare(db: Kysely<Database>, dialect: DialectName, me: string, dead: readonly string[], limit: number): Promise<number> {
  const plan = await planClaim(db, me, dead, limit);
  if (plan.take === 0) return 0;
  // Columns are qualified: on Postgres the update also reads the picked rows.
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
  const r =
    dialect === 'postgres'
      ? // Row locks cannot be taken in a query with a window function: the pick is a CTE that
        // runs once (materialized), and a second CTE locks its rows, skipping locked ones.
        await db
          .with((cte) => cte('pick').materialized(), () => pick)
          .with('picked', (qb) =>
            qb
              .selectFrom('dag_run')
              .select(['dag_run.dag_id', 'dag_run.run_id'])
              .where((eb) => eb(eb.refTuple('dag_run.dag_id', 'dag_run.run_id'), 'in', eb.selectFrom('pick').select(['pick.dag_id', 'pick.run_id']).$asTuple('dag_id', 'run_id')))
              .forUpdate()
              .skipLocked(),
          )
          .updateTable('dag_run')
          .set({ claimed_by: me })
          .from('picked')
          .whereRef('dag_run.dag_id', '=', 'picked.dag_id')
          .whereRef('dag_run.run_id', '=', 'picked.run_id')
          .where((eb) => claimable(eb as unknown as ExpressionBuilder<Database, 'dag_run'>))
          .executeTakeFirst()
      : await db
          .updateTable('dag_run')
          .set({ claimed_by: me })
          .where((eb) => eb(eb.refTuple('dag_id', 'run_id'), 'in', pick.$asTuple('dag_id', 'run_id')))
          .where(claimable)
          .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
