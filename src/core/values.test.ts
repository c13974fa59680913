import { describe, expect, it } from 'vitest';
import { TrainyardError } from './errors.js';
import type { ContextName, ExprNode, ValueExpr } from './spec.js';
import {
  isExpr,
  referencedTasks,
  resolveArgs,
  resolveValue,
  toText,
  walkPath,
  type ValueContext,
} from './values.js';

const result = (taskId: string, ...path: string[]): ExprNode => ({ $expr: 'result', taskId, path });
const item = (...path: string[]): ExprNode => ({ $expr: 'item', path });
const param = (...path: string[]): ExprNode => ({ $expr: 'param', path });
const context = (name: ContextName): ExprNode => ({ $expr: 'context', name });
const template = (...parts: ValueExpr[]): ExprNode => ({ $expr: 'template', parts });

// Cast, so that context names added later do not break this fixture.
const CONTEXT = {
  dagId: 'train',
  runId: 'manual__2026-01-01',
  taskId: 'fit',
  mapIndex: 2,
  tryNumber: 1,
  ds: '2026-01-01',
  dsNodash: '20260101',
  logicalDate: '2026-01-01T00:00:00Z',
  dataIntervalStart: '2026-01-01T00:00:00Z',
  dataIntervalEnd: '2026-01-02T00:00:00Z',
  artifactsDir: 'artifacts/train/run1/fit/2',
  runArtifactsDir: 'artifacts/train/run1',
  checkpointDir: 'checkpoints/train/run1/fit/2',
  conf: { fast: true },
} as Record<ContextName, unknown>;

const RESULTS: Record<string, unknown> = {
  prepare: { uri: 's3://bucket/data', rows: 1200, splits: ['train', 'val'], meta: { ok: true, note: null } },
  count: 7,
  empty_result: null,
};

function ctx(over: Partial<ValueContext> = {}): ValueContext {
  return {
    context: CONTEXT,
    params: { epochs: 10, optimizer: { name: 'adam', lr: 0.001 } },
    results: (id) => RESULTS[id],
    ...over,
  };
}

function thrown(fn: () => unknown): TrainyardError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TrainyardError);
    return e as TrainyardError;
  }
  throw new Error('expected a throw');
}

describe('isExpr', () => {
  it('recognises objects with a string $expr', () => {
    expect(isExpr(result('a'))).toBe(true);
    expect(isExpr({ $expr: 'function' })).toBe(true);
  });

  it('rejects literals, arrays, and objects without a string $expr', () => {
    for (const v of [null, undefined, 1, 'x', true, [], [result('a')], {}, { expr: 'result' }, { $expr: 3 }]) {
      expect(isExpr(v)).toBe(false);
    }
  });
});

describe('resolveValue: literals', () => {
  it('returns primitives as they are', () => {
    for (const v of ['text', 0, -1.5, true, false, null]) expect(resolveValue(v, ctx())).toBe(v);
  });

  it('copies arrays and objects, resolving nested expressions', () => {
    const expr: ValueExpr = {
      data: result('prepare', 'uri'),
      opts: [param('epochs'), { lr: item('lr') }, 'fixed'],
      n: 3,
    };
    expect(resolveValue(expr, ctx({ item: { lr: 0.1 } }))).toEqual({
      data: 's3://bucket/data',
      opts: [10, { lr: 0.1 }, 'fixed'],
      n: 3,
    });
  });

  it('does not mutate the expression', () => {
    const expr = { a: [result('count')] } as const;
    const before = JSON.stringify(expr);
    resolveValue(expr, ctx());
    expect(JSON.stringify(expr)).toBe(before);
  });
});

describe('resolveValue: result', () => {
  it('returns the whole result with an empty path', () => {
    expect(resolveValue(result('count'), ctx())).toBe(7);
    expect(resolveValue(result('prepare'), ctx())).toEqual(RESULTS.prepare);
  });

  it('follows object keys and array indices', () => {
    expect(resolveValue(result('prepare', 'splits', '1'), ctx())).toBe('val');
    expect(resolveValue(result('prepare', 'meta', 'ok'), ctx())).toBe(true);
  });

  it('returns a null value found at the path', () => {
    expect(resolveValue(result('prepare', 'meta', 'note'), ctx())).toBeNull();
    expect(resolveValue(result('empty_result'), ctx())).toBeNull();
  });

  it('throws RESULT_PATH_MISSING naming the task and the path', () => {
    const e = thrown(() => resolveValue(result('prepare', 'meta', 'missing'), ctx()));
    expect(e.code).toBe('RESULT_PATH_MISSING');
    expect(e.message).toContain("task 'prepare'");
    expect(e.message).toContain("path 'meta.missing'");
  });

  it('treats an out-of-range or non-numeric index as missing', () => {
    expect(thrown(() => resolveValue(result('prepare', 'splits', '2'), ctx())).code).toBe('RESULT_PATH_MISSING');
    expect(thrown(() => resolveValue(result('prepare', 'splits', 'length'), ctx())).code).toBe(
      'RESULT_PATH_MISSING',
    );
    expect(thrown(() => resolveValue(result('prepare', 'splits', '01'), ctx())).code).toBe('RESULT_PATH_MISSING');
  });

  it('treats a key below a primitive as missing', () => {
    const e = thrown(() => resolveValue(result('count', 'x'), ctx()));
    expect(e.code).toBe('RESULT_PATH_MISSING');
    expect(e.message).toContain("task 'count'");
  });

  it('does not read inherited properties', () => {
    expect(thrown(() => resolveValue(result('prepare', 'toString'), ctx())).code).toBe('RESULT_PATH_MISSING');
  });

  it('throws RESULT_MISSING when the task has no result', () => {
    const e = thrown(() => resolveValue(result('nothing'), ctx()));
    expect(e.code).toBe('RESULT_MISSING');
    expect(e.message).toContain("'nothing'");
    expect(e.message).toContain('TRAINYARD_RESULT_PATH');
  });
});

describe('resolveValue: item, param, context', () => {
  it('reads the mapped item and paths into it', () => {
    expect(resolveValue(item(), ctx({ item: 'a.csv' }))).toBe('a.csv');
    expect(resolveValue(item('cfg', 'lr'), ctx({ item: { cfg: { lr: 0.5 } } }))).toBe(0.5);
  });

  it('throws ITEM_UNAVAILABLE when the task instance is not mapped', () => {
    expect(thrown(() => resolveValue(item(), ctx())).code).toBe('ITEM_UNAVAILABLE');
  });

  it('throws ITEM_PATH_MISSING for a missing key in the item', () => {
    const e = thrown(() => resolveValue(item('bs'), ctx({ item: { lr: 1 } })));
    expect(e.code).toBe('ITEM_PATH_MISSING');
    expect(e.message).toContain("'bs'");
  });

  it('reads params by path, and all params with an empty path', () => {
    expect(resolveValue(param('optimizer', 'lr'), ctx())).toBe(0.001);
    expect(resolveValue(param(), ctx())).toEqual({ epochs: 10, optimizer: { name: 'adam', lr: 0.001 } });
  });

  it('throws PARAM_MISSING naming the path', () => {
    const e = thrown(() => resolveValue(param('optimizer', 'momentum'), ctx()));
    expect(e.code).toBe('PARAM_MISSING');
    expect(e.message).toContain("'optimizer.momentum'");
  });

  it('reads context values by name', () => {
    expect(resolveValue(context('ds'), ctx())).toBe('2026-01-01');
    expect(resolveValue(context('mapIndex'), ctx())).toBe(2);
    expect(resolveValue(context('conf'), ctx())).toEqual({ fast: true });
  });

  it('throws CONTEXT_MISSING for a context value that was not provided', () => {
    const partial = { dagId: 'd' } as Record<ContextName, unknown>;
    const e = thrown(() => resolveValue(context('ds'), ctx({ context: partial })));
    expect(e.code).toBe('CONTEXT_MISSING');
    expect(e.message).toContain("'ds'");
  });
});

describe('resolveValue: template', () => {
  it('joins parts, with numbers and booleans as String() and others as JSON', () => {
    const t = template('--data=', result('prepare', 'uri'), ' --epochs=', param('epochs'), ' --fast=', true);
    expect(resolveValue(t, ctx())).toBe('--data=s3://bucket/data --epochs=10 --fast=true');
    expect(resolveValue(template('x=', null, ' y=', [1, 'a'], ' z=', { k: 1 }), ctx())).toBe(
      'x=null y=[1,"a"] z={"k":1}',
    );
  });

  it('renders an empty template as an empty string', () => {
    expect(resolveValue(template(), ctx())).toBe('');
  });

  it('resolves nested templates', () => {
    expect(resolveValue(template('a', template('b', context('dsNodash'))), ctx())).toBe('ab20260101');
  });
});

describe('resolveValue: function and unknown', () => {
  it('throws FUNCTION_EXPR_UNRESOLVED for a function marker, anywhere', () => {
    expect(thrown(() => resolveValue({ $expr: 'function' }, ctx())).code).toBe('FUNCTION_EXPR_UNRESOLVED');
    const e = thrown(() => resolveValue({ a: [{ $expr: 'function' }] }, ctx()));
    expect(e.code).toBe('FUNCTION_EXPR_UNRESOLVED');
    expect(e.message).toContain('worker');
  });

  it('throws INVALID_EXPR for an unknown expression kind', () => {
    const e = thrown(() => resolveValue({ $expr: 'env' } as unknown as ValueExpr, ctx()));
    expect(e.code).toBe('INVALID_EXPR');
    expect(e.message).toContain("'env'");
  });
});

describe('resolveArgs', () => {
  it('turns each argument into one string', () => {
    const args: ValueExpr[] = ['train.py', '--lr', item('lr'), '--cfg', param('optimizer'), result('count'), null, false];
    expect(resolveArgs(args, ctx({ item: { lr: 0.01 } }))).toEqual([
      'train.py',
      '--lr',
      '0.01',
      '--cfg',
      '{"name":"adam","lr":0.001}',
      '7',
      'null',
      'false',
    ]);
  });

  it('returns an empty list for no arguments', () => {
    expect(resolveArgs([], ctx())).toEqual([]);
  });
});

describe('toText', () => {
  it('formats each JSON type', () => {
    expect(toText('s')).toBe('s');
    expect(toText(1e21)).toBe('1e+21');
    expect(toText(false)).toBe('false');
    expect(toText(null)).toBe('null');
    expect(toText(undefined)).toBe('');
    expect(toText({ a: [1] })).toBe('{"a":[1]}');
  });
});

describe('walkPath', () => {
  it('reports the depth where a path stops', () => {
    expect(walkPath({ a: { b: 1 } }, ['a', 'c', 'd'])).toEqual({ ok: false, depth: 1 });
    expect(walkPath({ a: { b: 1 } }, ['a', 'b'])).toEqual({ ok: true, value: 1 });
  });
});

describe('referencedTasks', () => {
  it('finds result references anywhere, each once, in order', () => {
    const expr: ValueExpr = {
      a: result('prepare', 'uri'),
      b: [result('count'), template('x', result('tokenize'), result('prepare'))],
      c: { deep: { deeper: [result('split')] } },
      d: param('epochs'),
    };
    expect(referencedTasks(expr)).toEqual(['prepare', 'count', 'tokenize', 'split']);
  });

  it('finds none in literals and non-result expressions', () => {
    for (const e of ['x', 1, null, [], {}, item('a'), param('b'), context('ds'), { $expr: 'function' }] as ValueExpr[]) {
      expect(referencedTasks(e)).toEqual([]);
    }
  });
});
