/**
 * Run claims by several schedulers, on every store dialect. Call it from a test file with the
 * same opener as storeConformance. Not a runtime module: it imports vitest.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLAIM_PEER_WINDOW_MS } from './claims.js';
import { type OpenedStore, run } from './store.conformance.js';
import type { Store } from './store.js';

const NOW = 1_763_700_000_000;

export function claimsConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Run claims: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    const queueRuns = async (n: number, extra: Parameters<typeof run>[2] = {}) => {
      for (let i = 0; i < n; i++) await store.createRun(run('d', `r${i}`, { queued_at: NOW + i, ...extra }));
    };
    const holders = async () => {
      const rows = await store.db.selectFrom('dag_run').select(['run_id', 'claimed_by']).orderBy('run_id').execute();
      return Object.fromEntries(rows.map((r) => [r.run_id, r.claimed_by ?? null]));
    };

    it('live schedulers divide the active runs evenly, oldest first', async () => {
      for (const id of ['a', 'b', 'c']) await store.heartbeat(id, 'host', 1, NOW);
      await queueRuns(6);
      expect(await store.claimRuns('a', [], 32)).toBe(2);
      expect(await store.claimRuns('a', [], 32)).toBe(0);
      expect(await store.claimRuns('b', [], 32)).toBe(2);
      expect(await store.claimRuns('c', [], 1)).toBe(1);
      expect(await store.claimRuns('c', [], 32)).toBe(1);
      expect(await holders()).toEqual({ r0: 'a', r1: 'a', r2: 'b', r3: 'b', r4: 'c', r5: 'c' });
    });

    it('a scheduler that stopped heartbeating gets no share; finished runs are never claimed', async () => {
      await store.heartbeat('a', 'host', 1, NOW);
      await store.heartbeat('quiet', 'host', 2, NOW - CLAIM_PEER_WINDOW_MS - 1);
      await queueRuns(3);
      await store.createRun(run('d', 'done', { state: 'success', queued_at: NOW - 1 }));
      expect(await store.claimRuns('a', [], 32)).toBe(3);
      expect(await holders()).toEqual({ done: null, r0: 'a', r1: 'a', r2: 'a' });
    });

    it("a dead scheduler's runs are taken over; a live one's are left alone", async () => {
      await store.heartbeat('a', 'host', 1, NOW);
      await store.heartbeat('b', 'host', 2, NOW);
      await queueRuns(4, { state: 'running' });
      expect(await store.claimRuns('dead', [], 2)).toBe(2);
      expect(await store.claimRuns('b', [], 32)).toBe(2);
      // 'b' holds its share already; with 'dead' declared dead, 'a' takes what 'dead' held.
      expect(await store.claimRuns('a', ['dead'], 32)).toBe(2);
      expect(await holders()).toEqual({ r0: 'a', r1: 'a', r2: 'b', r3: 'b' });
      expect(await store.claimRuns('a', ['dead'], 32)).toBe(0);
    });

    it("DAGs take turns: a DAG with a long queue does not keep another DAG's new run unclaimed", async () => {
      await store.heartbeat('a', 'host', 1, NOW);
      for (let i = 0; i < 10; i++) await store.createRun(run('catchup', `c${i}`, { queued_at: NOW + i }));
      await store.createRun(run('other', 'late', { queued_at: NOW + 100 }));
      expect(await store.claimRuns('a', [], 3)).toBe(3);
      const h = await holders();
      // each DAG's oldest first: c0 and late, then c1
      expect(Object.keys(h).filter((k) => h[k] === 'a').sort()).toEqual(['c0', 'c1', 'late']);
    });

    it('claims racing each other take disjoint runs, each its share', async () => {
      for (const id of ['a', 'b']) await store.heartbeat(id, 'host', 1, NOW);
      await queueRuns(6);
      const counts = await Promise.all([store.claimRuns('a', [], 32), store.claimRuns('b', [], 32)]);
      expect(counts).toEqual([3, 3]);
      const h = Object.values(await holders());
      expect(h.filter((x) => x === 'a')).toHaveLength(3);
      expect(h.filter((x) => x === 'b')).toHaveLength(3);
    });

    it('three claimers starting together, again and again, always split the runs evenly', async () => {
      for (const id of ['a', 'b', 'c']) await store.heartbeat(id, 'host', 1, NOW);
      for (let round = 0; round < 5; round++) {
        await store.db.deleteFrom('dag_run').execute();
        await queueRuns(9);
        const counts = await Promise.all(['a', 'b', 'c'].map((id) => store.claimRuns(id, [], 32)));
        expect(counts, `round ${round}`).toEqual([3, 3, 3]);
      }
    });
  });
}
