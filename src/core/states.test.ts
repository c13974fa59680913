import { describe, expect, it } from 'vitest';
import {
  FINISHED_TASK_STATES,
  IllegalTransitionError,
  RUN_STATES,
  TASK_STATES,
  assertTransition,
  canTransition,
  canTransitionRun,
  isFinished,
  isRunFinished,
  type RunState,
  type TaskState,
} from './states.js';

/** The allowed task transitions, written out independently of states.ts. */
const ALLOWED: Record<TaskState, TaskState[]> = {
  none: ['scheduled', 'skipped', 'upstream_failed', 'removed', 'success', 'failed'],
  scheduled: ['queued', 'deferred', 'skipped', 'upstream_failed', 'none', 'success', 'failed', 'removed'],
  queued: ['running', 'success', 'failed', 'up_for_retry', 'skipped', 'scheduled', 'none'],
  running: ['success', 'failed', 'up_for_retry', 'skipped', 'deferred', 'none'],
  deferred: ['scheduled', 'success', 'failed', 'skipped', 'up_for_retry', 'none'],
  up_for_retry: ['scheduled', 'success', 'failed', 'skipped', 'none'],
  success: ['none', 'failed'],
  failed: ['none', 'success'],
  skipped: ['none', 'success', 'failed'],
  upstream_failed: ['none', 'success', 'failed', 'skipped'],
  removed: ['none'],
};

const RUN_ALLOWED: Record<RunState, RunState[]> = {
  queued: ['running', 'success', 'failed'],
  running: ['success', 'failed', 'queued'],
  success: ['queued', 'running', 'failed'],
  failed: ['queued', 'running', 'success'],
};

const allPairs = TASK_STATES.flatMap((from) => TASK_STATES.map((to) => [from, to] as const));

describe('task states', () => {
  it('lists the eleven Airflow-style states once each', () => {
    expect(TASK_STATES).toHaveLength(11);
    expect(new Set(TASK_STATES).size).toBe(11);
    expect(Object.keys(ALLOWED).sort()).toEqual([...TASK_STATES].sort());
  });

  it('finished states are exactly success, failed, skipped, upstream_failed and removed', () => {
    expect([...FINISHED_TASK_STATES].sort()).toEqual(['failed', 'removed', 'skipped', 'success', 'upstream_failed']);
    for (const s of TASK_STATES) expect(isFinished(s)).toBe(FINISHED_TASK_STATES.has(s));
    for (const s of ['none', 'scheduled', 'queued', 'running', 'deferred', 'up_for_retry'] as TaskState[]) {
      expect(isFinished(s)).toBe(false);
    }
  });
});

describe('task transitions', () => {
  it('agree with the written-out table for all 121 pairs', () => {
    expect(allPairs).toHaveLength(121);
    for (const [from, to] of allPairs) {
      expect([from, to, canTransition(from, to)]).toEqual([from, to, ALLOWED[from].includes(to)]);
    }
  });

  it('assertTransition accepts every legal transition', () => {
    for (const [from, to] of allPairs) {
      if (ALLOWED[from].includes(to)) expect(() => assertTransition(from, to)).not.toThrow();
    }
  });

  it('assertTransition rejects every illegal transition with ILLEGAL_TRANSITION', () => {
    let rejected = 0;
    for (const [from, to] of allPairs) {
      if (ALLOWED[from].includes(to)) continue;
      rejected++;
      try {
        assertTransition(from, to);
        throw new Error(`${from} -> ${to} was accepted`);
      } catch (e) {
        expect(e).toBeInstanceOf(IllegalTransitionError);
        const err = e as IllegalTransitionError;
        expect(err.code).toBe('ILLEGAL_TRANSITION');
        expect(err.from).toBe(from);
        expect(err.to).toBe(to);
      }
    }
    expect(rejected).toBe(121 - Object.values(ALLOWED).flat().length);
  });

  it('names the thing and both states in the message', () => {
    expect(() => assertTransition('success', 'running')).toThrow(
      "task instance cannot move from 'success' to 'running'",
    );
    expect(() => assertTransition('removed', 'success', 'mapped instance')).toThrow(
      "mapped instance cannot move from 'removed' to 'success'",
    );
    const err = new IllegalTransitionError('a', 'b', 'x');
    expect(err.name).toBe('IllegalTransitionError');
    expect(err).toBeInstanceOf(Error);
  });

  it('never moves to the same state', () => {
    for (const s of TASK_STATES) expect(canTransition(s, s)).toBe(false);
  });

  it('lets every state be cleared back to none', () => {
    for (const s of TASK_STATES) if (s !== 'none') expect(canTransition(s, 'none')).toBe(true);
  });

  it('only reaches running from queued', () => {
    for (const s of TASK_STATES) expect(canTransition(s, 'running')).toBe(s === 'queued');
  });

  it('only reaches queued from scheduled: a try is launched after admission', () => {
    for (const s of TASK_STATES) expect(canTransition(s, 'queued')).toBe(s === 'scheduled');
  });

  it('never moves a finished task into an active state except by clearing', () => {
    const active: TaskState[] = ['scheduled', 'queued', 'running', 'deferred', 'up_for_retry'];
    for (const from of FINISHED_TASK_STATES) for (const to of active) expect(canTransition(from, to)).toBe(false);
  });

  it('reaches up_for_retry only from a try in progress', () => {
    for (const s of TASK_STATES) {
      expect(canTransition(s, 'up_for_retry')).toBe(['queued', 'running', 'deferred'].includes(s));
    }
  });

  it('moves removed only back to none', () => {
    for (const s of TASK_STATES) expect(canTransition('removed', s)).toBe(s === 'none');
  });
});

describe('run states and transitions', () => {
  it('lists four run states', () => {
    expect([...RUN_STATES].sort()).toEqual(['failed', 'queued', 'running', 'success']);
  });

  it('finished runs are success and failed', () => {
    expect(RUN_STATES.filter(isRunFinished).sort()).toEqual(['failed', 'success']);
  });

  it('agree with the written-out table for all pairs', () => {
    for (const from of RUN_STATES) {
      for (const to of RUN_STATES) {
        expect([from, to, canTransitionRun(from, to)]).toEqual([from, to, RUN_ALLOWED[from].includes(to)]);
      }
    }
  });

  it('allow re-running a finished run, and never a transition to itself', () => {
    expect(canTransitionRun('success', 'queued')).toBe(true);
    expect(canTransitionRun('failed', 'running')).toBe(true);
    for (const s of RUN_STATES) expect(canTransitionRun(s, s)).toBe(false);
  });
});
