import { describe, expect, it } from 'vitest';
import { TRIGGER_RULES, type TriggerRule } from './spec.js';
import { TASK_STATES, type TaskState } from './states.js';
import { TrainyardError } from './errors.js';
import {
  evaluateTriggerRule,
  summarizeUpstream,
  type TriggerDecision,
  type UpstreamSummary,
} from './trigger-rules.js';

const FINISHED: readonly TaskState[] = ['success', 'failed', 'skipped', 'upstream_failed', 'removed'];
const UNFINISHED: readonly TaskState[] = ['none', 'scheduled', 'queued', 'running', 'deferred', 'up_for_retry'];

/** All multisets of `size` states, each as a sorted list. */
function multisets(size: number, alphabet: readonly TaskState[] = TASK_STATES): TaskState[][] {
  if (size === 0) return [[]];
  const out: TaskState[][] = [];
  const go = (start: number, acc: TaskState[]): void => {
    if (acc.length === size) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i < alphabet.length; i++) go(i, [...acc, alphabet[i]]);
  };
  go(0, []);
  return out;
}

function decide(rule: TriggerRule, states: readonly TaskState[]): TriggerDecision {
  return evaluateTriggerRule(rule, summarizeUpstream(states));
}

/**
 * An independent reference: Airflow's two phases written out literally (first the state the
 * task is moved to, then whether the dependency passes), over the upstream instances with
 * removed ones dropped, as trigger-rules.ts documents.
 */
function reference(rule: TriggerRule, all: readonly TaskState[]): TriggerDecision {
  const states = all.filter((x) => x !== 'removed');
  const n = (st: TaskState): number => states.filter((x) => x === st).length;
  const upstream = states.length;
  if (upstream === 0 || rule === 'always') return 'run';
  const success = n('success');
  const failed = n('failed');
  const upFailed = n('upstream_failed');
  const skipped = n('skipped');
  const done = success + failed + upFailed + skipped;
  const upstreamDone = done >= upstream;

  let newState: TriggerDecision | null = null;
  if (rule === 'all_success') {
    if (upFailed || failed) newState = 'upstream_failed';
    else if (skipped) newState = 'skip';
  } else if (rule === 'all_failed') {
    if (success || skipped) newState = 'skip';
  } else if (rule === 'one_success') {
    if (upstreamDone && done === skipped) newState = 'skip';
    else if (upstreamDone && success <= 0) newState = 'upstream_failed';
  } else if (rule === 'one_failed') {
    if (upstreamDone && !(failed || upFailed)) newState = 'skip';
  } else if (rule === 'one_done') {
    if (upstreamDone && !(failed || success)) newState = 'skip';
  } else if (rule === 'none_failed') {
    if (upFailed || failed) newState = 'upstream_failed';
  } else if (rule === 'none_failed_min_one_success') {
    if (upFailed || failed) newState = 'upstream_failed';
    else if (skipped === upstream) newState = 'skip';
  } else if (rule === 'none_skipped') {
    if (skipped) newState = 'skip';
  } else if (rule === 'all_skipped') {
    if (success || failed || upFailed) newState = 'skip';
  } else if (rule === 'all_done_min_one_success') {
    if (skipped > 0) newState = 'skip';
    else if (done >= upstream - skipped && success === 0) newState = 'upstream_failed';
  }
  if (newState) return newState;

  let passes: boolean;
  switch (rule) {
    case 'one_success':
      passes = success > 0;
      break;
    case 'one_failed':
      passes = failed + upFailed > 0;
      break;
    case 'one_done':
      passes = success + failed > 0;
      break;
    case 'all_success':
      passes = upstream - success <= 0;
      break;
    case 'all_failed':
      passes = upstream - failed - upFailed <= 0;
      break;
    case 'all_done':
      passes = upstreamDone;
      break;
    case 'none_failed':
    case 'none_failed_min_one_success':
      passes = upstream - success - skipped <= 0;
      break;
    case 'none_skipped':
      passes = upstreamDone && skipped === 0;
      break;
    case 'all_skipped':
      passes = upstream - skipped <= 0;
      break;
    case 'all_done_min_one_success':
      passes = skipped === 0 && done >= upstream && success > 0;
      break;
    default:
      throw new Error(`no reference for ${rule}`);
  }
  return passes ? 'run' : 'wait';
}

const SMALL_SETS = [0, 1, 2, 3].flatMap((k) => multisets(k));
const MAPPED_SETS = [4, 5, 6].flatMap((k) =>
  multisets(k, ['running', 'success', 'failed', 'skipped', 'upstream_failed', 'removed']),
);

describe('summarizeUpstream', () => {
  it('counts each state and the finished ones as done', () => {
    const s = summarizeUpstream([
      'success',
      'success',
      'failed',
      'upstream_failed',
      'skipped',
      'removed',
      'running',
      'none',
      'up_for_retry',
    ]);
    expect(s).toEqual({
      total: 9,
      success: 2,
      failed: 1,
      upstreamFailed: 1,
      skipped: 1,
      removed: 1,
      done: 6,
    });
  });

  it('is all zeros for no upstreams', () => {
    expect(summarizeUpstream([])).toEqual({
      total: 0,
      success: 0,
      failed: 0,
      upstreamFailed: 0,
      skipped: 0,
      removed: 0,
      done: 0,
    });
  });

  it('accepts any iterable, such as a generator of mapped instances', () => {
    function* mapped(): Generator<TaskState> {
      for (let i = 0; i < 100; i++) yield i % 10 === 0 ? 'failed' : 'success';
    }
    const s = summarizeUpstream(mapped());
    expect(s.total).toBe(100);
    expect(s.failed).toBe(10);
    expect(s.success).toBe(90);
    expect(s.done).toBe(100);
  });

  it('counts every unfinished state as not done', () => {
    for (const st of UNFINISHED) expect(summarizeUpstream([st]).done).toBe(0);
    for (const st of FINISHED) expect(summarizeUpstream([st]).done).toBe(1);
  });
});

/**
 * The truth table, written out by hand. Columns follow TRIGGER_RULE_ORDER.
 * r = run, w = wait, s = skip, u = upstream_failed.
 */
const TRIGGER_RULE_ORDER: readonly TriggerRule[] = [
  'all_success',
  'all_failed',
  'all_done',
  'all_done_min_one_success',
  'all_skipped',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
];
const CODE: Record<string, TriggerDecision> = { r: 'run', w: 'wait', s: 'skip', u: 'upstream_failed' };

// prettier-ignore
const TRUTH_TABLE: ReadonlyArray<readonly [readonly TaskState[], string]> = [
  //                                         aS aF aD a1 aK 1S 1F 1D nF n1 nK al
  [[],                                      'r  r  r  r  r  r  r  r  r  r  r  r'],
  [['success'],                             'r  s  r  r  s  r  s  r  r  r  r  r'],
  [['failed'],                              'u  r  r  u  s  u  r  r  u  u  r  r'],
  [['upstream_failed'],                     'u  r  r  u  s  u  r  s  u  u  r  r'],
  [['skipped'],                             's  s  r  s  r  s  s  s  r  s  s  r'],
  [['removed'],                             'r  r  r  r  r  r  r  r  r  r  r  r'],
  [['running'],                             'w  w  w  w  w  w  w  w  w  w  w  r'],
  [['none'],                                'w  w  w  w  w  w  w  w  w  w  w  r'],
  [['success', 'success'],                  'r  s  r  r  s  r  s  r  r  r  r  r'],
  [['success', 'running'],                  'w  s  w  w  s  r  w  r  w  w  w  r'],
  [['failed', 'running'],                   'u  w  w  w  s  w  r  r  u  u  w  r'],
  [['skipped', 'running'],                  's  s  w  s  w  w  w  w  w  w  s  r'],
  [['upstream_failed', 'running'],          'u  w  w  w  s  w  r  w  u  u  w  r'],
  [['success', 'failed'],                   'u  s  r  r  s  r  r  r  u  u  r  r'],
  [['success', 'skipped'],                  's  s  r  s  s  r  s  r  r  r  s  r'],
  [['failed', 'skipped'],                   'u  s  r  s  s  u  r  r  u  u  s  r'],
  [['skipped', 'skipped'],                  's  s  r  s  r  s  s  s  r  s  s  r'],
  [['skipped', 'upstream_failed'],          'u  s  r  s  s  u  r  s  u  u  s  r'],
  [['failed', 'upstream_failed'],           'u  r  r  u  s  u  r  r  u  u  r  r'],
  [['success', 'removed'],                  'r  s  r  r  s  r  s  r  r  r  r  r'],
  [['skipped', 'removed'],                  's  s  r  s  r  s  s  s  r  s  s  r'],
  [['removed', 'running'],                  'w  w  w  w  w  w  w  w  w  w  w  r'],
  [['success', 'skipped', 'failed'],        'u  s  r  s  s  r  r  r  u  u  s  r'],
  [['success', 'success', 'queued'],        'w  s  w  w  s  r  w  r  w  w  w  r'],
  [['skipped', 'skipped', 'deferred'],      's  s  w  s  w  w  w  w  w  w  s  r'],
  [['success', 'skipped', 'up_for_retry'],  's  s  w  s  s  r  w  r  w  w  s  r'],
  [['upstream_failed', 'upstream_failed'],  'u  r  r  u  s  u  r  s  u  u  r  r'],
];

describe('evaluateTriggerRule: hand-written truth table', () => {
  for (const [states, row] of TRUTH_TABLE) {
    const cells = row.split(/\s+/);
    it(`upstreams [${states.join(', ')}]`, () => {
      expect(cells).toHaveLength(TRIGGER_RULE_ORDER.length);
      const got = TRIGGER_RULE_ORDER.map((rule) => decide(rule, states));
      const want = cells.map((c) => CODE[c]);
      expect(Object.fromEntries(TRIGGER_RULE_ORDER.map((r, i) => [r, got[i]]))).toEqual(
        Object.fromEntries(TRIGGER_RULE_ORDER.map((r, i) => [r, want[i]])),
      );
    });
  }

  it('covers every trigger rule', () => {
    expect([...TRIGGER_RULE_ORDER].sort()).toEqual([...TRIGGER_RULES].sort());
  });
});

describe('evaluateTriggerRule: agrees with the literal Airflow reference', () => {
  for (const rule of TRIGGER_RULES) {
    it(`${rule}: every multiset of 0..3 upstream states`, () => {
      expect(SMALL_SETS).toHaveLength(1 + 11 + 66 + 286);
      for (const states of SMALL_SETS) {
        expect([states, decide(rule, states)]).toEqual([states, reference(rule, states)]);
      }
    });

    it(`${rule}: mapped upstreams with 4..6 instances`, () => {
      for (const states of MAPPED_SETS) {
        expect([states, decide(rule, states)]).toEqual([states, reference(rule, states)]);
      }
    });
  }
});

describe('evaluateTriggerRule: invariants', () => {
  const everySet = [...SMALL_SETS, ...MAPPED_SETS];

  it('always runs with no upstreams, for every rule', () => {
    for (const rule of TRIGGER_RULES) expect(decide(rule, [])).toBe('run');
  });

  it('always runs with the always rule, whatever the upstream states', () => {
    for (const states of everySet) expect(decide('always', states)).toBe('run');
  });

  it('never waits once every upstream is finished', () => {
    for (const rule of TRIGGER_RULES) {
      for (const states of everySet) {
        if (states.every((s) => FINISHED.includes(s))) {
          expect([rule, states, decide(rule, states)]).not.toEqual([rule, states, 'wait']);
        }
      }
    }
  });

  it('all_success runs only when every non-removed upstream succeeded', () => {
    for (const states of everySet) {
      const live = states.filter((s) => s !== 'removed');
      const all = live.every((s) => s === 'success');
      expect(decide('all_success', states) === 'run').toBe(all);
    }
  });

  it('all_failed runs only when every non-removed upstream failed or upstream_failed', () => {
    for (const states of everySet) {
      const live = states.filter((s) => s !== 'removed');
      const all = live.every((s) => s === 'failed' || s === 'upstream_failed');
      expect(decide('all_failed', states) === 'run').toBe(all);
    }
  });

  it('none_failed never runs with a failed or upstream_failed upstream', () => {
    for (const states of everySet) {
      if (states.includes('failed') || states.includes('upstream_failed')) {
        expect(decide('none_failed', states)).toBe('upstream_failed');
        expect(decide('none_failed_min_one_success', states)).toBe('upstream_failed');
      }
    }
  });

  const liveSets = everySet.filter((states) => states.some((s) => s !== 'removed'));

  it('one_success runs as soon as any upstream succeeds, even with others running', () => {
    for (const states of liveSets) {
      if (states.includes('success')) expect(decide('one_success', states)).toBe('run');
      else expect(decide('one_success', states)).not.toBe('run');
    }
  });

  it('one_failed runs as soon as any upstream failed or upstream_failed', () => {
    for (const states of liveSets) {
      const any = states.includes('failed') || states.includes('upstream_failed');
      expect(decide('one_failed', states) === 'run').toBe(any);
    }
  });

  it('all_success decides upstream_failed early, before other upstreams finish', () => {
    expect(decide('all_success', ['failed', 'running', 'none'])).toBe('upstream_failed');
    expect(decide('all_success', ['skipped', 'running', 'queued'])).toBe('skip');
  });

  it('failure beats skip for all_success and none_failed_min_one_success', () => {
    expect(decide('all_success', ['skipped', 'failed'])).toBe('upstream_failed');
    expect(decide('none_failed_min_one_success', ['skipped', 'skipped', 'failed'])).toBe(
      'upstream_failed',
    );
  });

  it('all_done runs exactly when everything is finished', () => {
    for (const states of everySet) {
      const finished = states.every((s) => FINISHED.includes(s));
      expect(decide('all_done', states)).toBe(finished ? 'run' : 'wait');
    }
  });

  it('adding removed instances never changes a decision', () => {
    for (const rule of TRIGGER_RULES) {
      for (const states of SMALL_SETS) {
        const withRemoved: TaskState[] = [...states, 'removed', 'removed'];
        expect(decide(rule, withRemoved)).toBe(decide(rule, states));
      }
    }
  });

  it('only returns the four decisions', () => {
    const seen = new Set<TriggerDecision>();
    for (const rule of TRIGGER_RULES) for (const states of everySet) seen.add(decide(rule, states));
    expect([...seen].sort()).toEqual(['run', 'skip', 'upstream_failed', 'wait']);
  });
});

describe('evaluateTriggerRule: mapped upstreams counted per instance', () => {
  const summary = (over: Partial<UpstreamSummary>): UpstreamSummary => ({
    total: 0,
    success: 0,
    failed: 0,
    upstreamFailed: 0,
    skipped: 0,
    removed: 0,
    done: 0,
    ...over,
  });

  it('waits for all 10,000 mapped instances under all_success', () => {
    expect(evaluateTriggerRule('all_success', summary({ total: 10_000, success: 9_999, done: 9_999 }))).toBe(
      'wait',
    );
    expect(
      evaluateTriggerRule('all_success', summary({ total: 10_000, success: 10_000, done: 10_000 })),
    ).toBe('run');
  });

  it('ignores a mapped placeholder left removed after expansion', () => {
    expect(
      evaluateTriggerRule('all_success', summary({ total: 4, success: 3, removed: 1, done: 4 })),
    ).toBe('run');
    expect(
      evaluateTriggerRule('none_failed_min_one_success', summary({ total: 3, skipped: 2, removed: 1, done: 3 })),
    ).toBe('skip');
  });

  it('one failed instance among many fails all_success', () => {
    expect(
      evaluateTriggerRule('all_success', summary({ total: 500, success: 10, failed: 1, done: 11 })),
    ).toBe('upstream_failed');
  });

  it('all_done_min_one_success skips on any skipped instance, as Airflow does', () => {
    expect(
      evaluateTriggerRule('all_done_min_one_success', summary({ total: 5, success: 1, skipped: 1, done: 2 })),
    ).toBe('skip');
    expect(
      evaluateTriggerRule('all_done_min_one_success', summary({ total: 5, success: 1, failed: 4, done: 5 })),
    ).toBe('run');
    expect(
      evaluateTriggerRule('all_done_min_one_success', summary({ total: 5, failed: 5, done: 5 })),
    ).toBe('upstream_failed');
  });
});

describe('evaluateTriggerRule: bad input', () => {
  it('throws INVALID_TRIGGER_RULE for an unknown rule, naming it', () => {
    const call = (): TriggerDecision =>
      evaluateTriggerRule('dummy' as TriggerRule, summarizeUpstream(['success']));
    expect(call).toThrow(TrainyardError);
    expect(call).toThrow(/Unknown trigger rule 'dummy'.*all_success/);
    try {
      call();
    } catch (e) {
      expect((e as TrainyardError).code).toBe('INVALID_TRIGGER_RULE');
    }
  });

  it('does not treat inherited object keys as rules', () => {
    expect(() => evaluateTriggerRule('toString' as TriggerRule, summarizeUpstream([]))).toThrow(
      /Unknown trigger rule/,
    );
  });
});
