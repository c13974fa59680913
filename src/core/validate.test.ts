import { describe, expect, it } from 'vitest';
import { DagValidationError } from './errors.js';
import { DEFAULT_MAX_MAP_LENGTH, DEFAULT_POOL, SPEC_VERSION, type DagSpec, type TaskSpec } from './spec.js';
import {
  directDownstream,
  downstreamOf,
  editDistance,
  findCycle,
  ID_PATTERN,
  similarIds,
  topologicalOrder,
  validateDagSpec,
} from './validate.js';

function task(taskId: string, upstream: string[] = [], over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    taskId,
    kind: 'command',
    upstream,
    triggerRule: 'all_success',
    retries: 0,
    retryDelayMs: 300_000,
    retryExponentialBackoff: false,
    pool: DEFAULT_POOL,
    poolSlots: 1,
    priorityWeight: 1,
    resources: { cpu: 1, memoryMb: 512, gpu: 0 },
    branch: false,
    inputs: {},
    maxMapLength: DEFAULT_MAX_MAP_LENGTH,
    definedAt: `dags/train.ts:${10 + taskId.length}`,
    ...over,
  };
}

function dag(tasks: TaskSpec[], dagId = 'train'): DagSpec {
  return {
    specVersion: SPEC_VERSION,
    dagId,
    tags: [],
    schedule: { kind: 'none' },
    catchup: false,
    maxActiveTasks: 16,
    maxActiveRuns: 1,
    paramsDefaults: {},
    tasks,
    groups: [],
  };
}

function validationError(spec: DagSpec): DagValidationError {
  try {
    validateDagSpec(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(DagValidationError);
    return e as DagValidationError;
  }
  throw new Error('expected validateDagSpec to throw');
}

describe('validateDagSpec: valid DAGs', () => {
  it('accepts an empty DAG', () => {
    expect(() => validateDagSpec(dag([]))).not.toThrow();
  });

  it('accepts a diamond with mapping and result references', () => {
    const spec = dag([
      task('extract'),
      task('split', ['extract'], {
        inputs: { data: { $expr: 'result', taskId: 'extract', path: ['uri'] } },
      }),
      task('train', ['split'], {
        mapping: {
          mode: 'product',
          sources: { fold: { kind: 'result', taskId: 'split', path: ['folds'] }, lr: { kind: 'literal', values: [0.1] } },
          partial: { epochs: 3 },
        },
        command: {
          command: 'python',
          args: ['train.py', { $expr: 'template', parts: ['--data=', { $expr: 'result', taskId: 'split', path: [] }] }],
          env: { SEED: '1' },
          shell: false,
        },
      }),
      task('report', ['train', 'extract'], { triggerRule: 'all_done', retries: 3, poolSlots: 2 }),
    ]);
    expect(() => validateDagSpec(spec)).not.toThrow();
  });

  it('accepts a command whose args and env are function markers', () => {
    const spec = dag([
      task('a', [], { command: { command: 'run', args: { $expr: 'function' }, env: { $expr: 'function' }, shell: false } }),
    ]);
    expect(() => validateDagSpec(spec)).not.toThrow();
  });
});

describe('validateDagSpec: ids', () => {
  it('accepts ids that follow the rule', () => {
    for (const id of ['a', 'A_1', '_private', '0start', 'train.step-1', 'x'.repeat(250)]) {
      expect(ID_PATTERN.test(id)).toBe(true);
      expect(() => validateDagSpec(dag([task(id)], id))).not.toThrow();
    }
  });

  it('rejects bad task ids, saying the rule and where the task is', () => {
    for (const id of ['', '-lead', '.dot', 'has space', 'slash/x', 'ünïcode', 'x'.repeat(251)]) {
      const e = validationError(dag([task(id)]));
      expect(e.code).toBe('INVALID_ID');
      expect(e.message).toContain('Task id');
      expect(e.message).toContain('at most 250 characters');
      expect(e.dagId).toBe('train');
    }
    expect(validationError(dag([task('bad id')])).message).toContain("'bad id' (defined at dags/train.ts:16)");
  });

  it('rejects a bad DAG id', () => {
    const e = validationError(dag([], 'my dag'));
    expect(e.code).toBe('INVALID_ID');
    expect(e.message).toContain("DAG id 'my dag'");
  });

  it('shortens very long ids in the message', () => {
    const e = validationError(dag([task('y'.repeat(300))]));
    expect(e.message).not.toContain('y'.repeat(61));
    expect(e.message).toContain('…');
  });
});

describe('validateDagSpec: duplicates', () => {
  it('names both definitions of a repeated task id', () => {
    const e = validationError(
      dag([
        task('a', [], { definedAt: 'dags/a.ts:3' }),
        task('b'),
        task('a', [], { definedAt: 'dags/a.ts:9' }),
      ]),
    );
    expect(e.code).toBe('DUPLICATE_TASK_ID');
    expect(e.message).toContain("'a' is defined twice");
    expect(e.message).toContain('dags/a.ts:3');
    expect(e.message).toContain('dags/a.ts:9');
  });

  it('says so when a location is unknown', () => {
    const e = validationError(dag([task('a', [], { definedAt: undefined }), task('a', [], { definedAt: undefined })]));
    expect(e.message).toContain('an unknown place');
  });
});

describe('validateDagSpec: settings', () => {
  it('rejects an unknown trigger rule, listing the valid ones', () => {
    const e = validationError(dag([task('a', [], { triggerRule: 'dummy' as TaskSpec['triggerRule'] })]));
    expect(e.code).toBe('INVALID_TRIGGER_RULE');
    expect(e.message).toContain("'dummy'");
    expect(e.message).toContain('none_failed_min_one_success');
  });

  it('rejects negative and fractional retries', () => {
    for (const retries of [-1, 1.5, Number.NaN]) {
      const e = validationError(dag([task('a', [], { retries })]));
      expect(e.code).toBe('INVALID_RETRIES');
      expect(e.message).toContain("Task 'a'");
    }
  });

  it('rejects a negative retry delay or max retry delay', () => {
    expect(validationError(dag([task('a', [], { retryDelayMs: -1 })])).code).toBe('INVALID_RETRY_DELAY');
    expect(validationError(dag([task('a', [], { maxRetryDelayMs: -5 })])).code).toBe('INVALID_RETRY_DELAY');
  });

  it('rejects pool slots below 1 or fractional', () => {
    for (const poolSlots of [0, -2, 1.5]) {
      const e = validationError(dag([task('a', [], { poolSlots })]));
      expect(e.code).toBe('INVALID_POOL_SLOTS');
    }
  });

  it('rejects a max map length below 1', () => {
    for (const maxMapLength of [0, -1, 2.5, Number.POSITIVE_INFINITY]) {
      expect(validationError(dag([task('a', [], { maxMapLength })])).code).toBe('INVALID_MAX_MAP_LENGTH');
    }
  });
});

describe('validateDagSpec: upstreams', () => {
  it('rejects an unknown upstream, suggesting similar ids', () => {
    const e = validationError(dag([task('preprocess'), task('train', ['preproces'])]));
    expect(e.code).toBe('UNKNOWN_UPSTREAM');
    expect(e.message).toContain("Task 'train'");
    expect(e.message).toContain("'preproces'");
    expect(e.message).toContain("Did you mean 'preprocess'?");
  });

  it('gives no suggestion when nothing is close', () => {
    const e = validationError(dag([task('preprocess'), task('train', ['zzz'])]));
    expect(e.code).toBe('UNKNOWN_UPSTREAM');
    expect(e.message).not.toContain('Did you mean');
  });

  it('rejects a task that depends on itself as a cycle', () => {
    const e = validationError(dag([task('a', ['a'])]));
    expect(e.code).toBe('CYCLE');
    expect(e.message).toContain('a -> a');
  });

  it('prints the cycle path', () => {
    const e = validationError(dag([task('a', ['c']), task('b', ['a']), task('c', ['b']), task('d', ['c'])]));
    expect(e.code).toBe('CYCLE');
    expect(e.message).toContain('a -> b -> c -> a');
  });
});

describe('validateDagSpec: mapping', () => {
  const mapped = (over: Partial<NonNullable<TaskSpec['mapping']>>, upstream: string[] = ['src']): TaskSpec =>
    task('m', upstream, {
      mapping: { mode: 'product', sources: { x: { kind: 'literal', values: [1] } }, partial: {}, ...over },
    });

  it('rejects a result source that is not an upstream', () => {
    const e = validationError(
      dag([task('src'), task('other'), mapped({ sources: { x: { kind: 'result', taskId: 'other', path: [] } } })]),
    );
    expect(e.code).toBe('MAP_SOURCE_NOT_UPSTREAM');
    expect(e.message).toContain("'other'");
    expect(e.message).toContain("'x'");
  });

  it('rejects a key that is both partial and mapped', () => {
    const e = validationError(dag([task('src'), mapped({ partial: { x: 2 } })]));
    expect(e.code).toBe('MAP_PARTIAL_CLASH');
    expect(e.message).toContain("'x'");
  });

  it('rejects a mapping with no sources', () => {
    expect(validationError(dag([task('src'), mapped({ sources: {} })])).code).toBe('INVALID_MAPPING');
  });

  it('requires kwargs mappings to have one source named kwargs', () => {
    const e = validationError(
      dag([task('src'), mapped({ mode: 'kwargs', sources: { configs: { kind: 'literal', values: [] } } })]),
    );
    expect(e.code).toBe('INVALID_MAPPING');
    expect(e.message).toContain('configs');
    expect(() =>
      validateDagSpec(dag([task('src'), mapped({ mode: 'kwargs', sources: { kwargs: { kind: 'literal', values: [] } } })])),
    ).not.toThrow();
  });

  it('rejects a literal source that is not a list', () => {
    const bad = { kind: 'literal', values: 'abc' } as unknown as { kind: 'literal'; values: unknown[] };
    expect(validationError(dag([task('src'), mapped({ sources: { x: bad } })])).code).toBe('INVALID_MAPPING');
  });
});

describe('validateDagSpec: result references', () => {
  it('rejects an input reading a result of a task that is not upstream', () => {
    const e = validationError(
      dag([task('a'), task('b', [], { inputs: { x: { nested: [{ $expr: 'result', taskId: 'a', path: [] }] } } })]),
    );
    expect(e.code).toBe('RESULT_REF_NOT_UPSTREAM');
    expect(e.message).toContain("Task 'b'");
    expect(e.message).toContain("'a'");
  });

  it('checks command, args and env', () => {
    const ref = { $expr: 'result', taskId: 'a', path: [] } as const;
    const cmd = (over: object): TaskSpec =>
      task('b', [], { command: { command: 'x', args: [], env: {}, shell: false, ...over } });
    for (const over of [{ command: ref }, { args: ['--x', ref] }, { env: { X: ref } }]) {
      expect(validationError(dag([task('a'), cmd(over)])).code).toBe('RESULT_REF_NOT_UPSTREAM');
    }
  });
});

describe('findCycle', () => {
  const edges = (pairs: [string, string][]): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const [a, b] of pairs) m.set(a, [...(m.get(a) ?? []), b]);
    return m;
  };

  it('returns null for a DAG', () => {
    expect(findCycle(['a', 'b', 'c', 'd'], edges([['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]))).toBeNull();
  });

  it('returns the cycle path, closed', () => {
    expect(findCycle(['x', 'a', 'b', 'c'], edges([['x', 'a'], ['a', 'b'], ['b', 'c'], ['c', 'a']]))).toEqual([
      'a',
      'b',
      'c',
      'a',
    ]);
  });

  it('finds a self-loop', () => {
    expect(findCycle(['a'], edges([['a', 'a']]))).toEqual(['a', 'a']);
  });

  it('returns null with no nodes', () => {
    expect(findCycle([], new Map())).toBeNull();
  });

  it('handles a 30,000-node chain without overflowing the stack', () => {
    const n = 30_000;
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    const m = new Map(ids.map((id, i) => [id, i + 1 < n ? [ids[i + 1]] : []]));
    expect(findCycle(ids, m)).toBeNull();
    m.set(ids[n - 1], [ids[0]]);
    const cycle = findCycle(ids, m);
    expect(cycle).toHaveLength(n + 1);
    expect(cycle?.[0]).toBe('t0');
    expect(cycle?.[n]).toBe('t0');
  });
});

describe('topologicalOrder', () => {
  it('returns an ordered spec as is', () => {
    const spec = dag([task('a'), task('b', ['a']), task('c', ['a']), task('d', ['b', 'c'])]);
    expect(topologicalOrder(spec)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('puts upstreams first, keeping spec order among ready tasks', () => {
    const spec = dag([task('d', ['b', 'c']), task('c', ['a']), task('b', ['a']), task('a'), task('z')]);
    // Ready after a: c and b (spec positions 1, 2) before z (4); d (0) before z once ready.
    expect(topologicalOrder(spec)).toEqual(['a', 'c', 'b', 'd', 'z']);
  });

  it('places every task after all its upstreams in a larger random DAG', () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const n = 300;
    const tasks = Array.from({ length: n }, (_, i) => {
      const ups = Array.from({ length: i }, (_, j) => `t${j}`).filter(() => rand() < 0.02);
      return task(`t${i}`, ups);
    }).reverse();
    const order = topologicalOrder(dag(tasks));
    expect(order).toHaveLength(n);
    const at = new Map(order.map((id, i) => [id, i]));
    for (const t of tasks) for (const u of t.upstream) expect(at.get(u)).toBeLessThan(at.get(t.taskId) as number);
  });

  it('ignores duplicate upstream entries', () => {
    expect(topologicalOrder(dag([task('b', ['a', 'a']), task('a')]))).toEqual(['a', 'b']);
  });

  it('throws CYCLE with the path', () => {
    try {
      topologicalOrder(dag([task('a', ['b']), task('b', ['a'])]));
      throw new Error('expected a throw');
    } catch (e) {
      expect(e).toBeInstanceOf(DagValidationError);
      expect((e as DagValidationError).code).toBe('CYCLE');
      expect((e as DagValidationError).message).toContain('a -> b -> a');
    }
  });

  it('throws CYCLE for a self-dependency', () => {
    expect(() => topologicalOrder(dag([task('a', ['a'])]))).toThrow(/a -> a/);
  });
});

describe('directDownstream and downstreamOf', () => {
  const spec = dag([
    task('a'),
    task('b', ['a']),
    task('c', ['a']),
    task('d', ['b', 'c']),
    task('e', ['d']),
    task('lonely'),
  ]);

  it('maps every task to its direct downstreams', () => {
    expect(directDownstream(spec)).toEqual(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['d']],
        ['c', ['d']],
        ['d', ['e']],
        ['e', []],
        ['lonely', []],
      ]),
    );
  });

  it('lists transitive downstreams once each, in spec order', () => {
    expect(downstreamOf(spec, 'a')).toEqual(['b', 'c', 'd', 'e']);
    expect(downstreamOf(spec, 'c')).toEqual(['d', 'e']);
    expect(downstreamOf(spec, 'e')).toEqual([]);
    expect(downstreamOf(spec, 'missing')).toEqual([]);
  });

  it('does not include the task itself, even in a cycle', () => {
    const cyclic = dag([task('a', ['b']), task('b', ['a'])]);
    expect(downstreamOf(cyclic, 'a')).toEqual(['b']);
  });
});

describe('similarIds and editDistance', () => {
  it('finds typos and case differences, closest first', () => {
    expect(similarIds('Train', ['train', 'trains', 'test'])).toEqual(['train', 'trains']);
    expect(similarIds('evaluate', ['evalute', 'evaluation_report'])).toEqual(['evalute']);
  });

  it('returns at most three', () => {
    expect(similarIds('task', ['task1', 'task2', 'task3', 'task4'])).toHaveLength(3);
  });

  it('computes Levenshtein distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
  });
});
