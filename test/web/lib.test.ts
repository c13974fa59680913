/** The UI's pure logic, in process: graph layout, group collapsing, the params form, why pending. */
import { describe, expect, test } from 'vitest';
import { dag, z } from '../../src/index.js';
import type { DagDetail, GraphTask, RunDetail, TaskInstance } from '../../web/src/api/types.js';
import { shownGraph, topoOrder } from '../../web/src/lib/dag-graph.js';
import { crossings, layoutDag } from '../../web/src/lib/graph-layout.js';
import { buildConf, initialValues, paramFields, serverFieldErrors } from '../../web/src/lib/params-form.js';
import { taskRows } from '../../web/src/lib/rows.js';
import type { TaskCell } from '../../web/src/lib/run-tasks.js';
import { whyPending } from '../../web/src/lib/why-pending.js';

function task(task_id: string, upstream: string[] = [], more: Partial<GraphTask> = {}): GraphTask {
  return { task_id, kind: 'command', upstream, trigger_rule: 'all_success', mapped: false, group: null, branch: false, pool: 'default_pool', retries: 0, resources: {}, executor: null, doc: null, ...more };
}

const box = (id: string) => ({ id, width: 100, height: 40 });

describe('layoutDag', () => {
  test('puts each node one layer after its deepest upstream, left to right', () => {
    const l = layoutDag(['a', 'b', 'c', 'd'].map(box), [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'c' },
      { from: 'c', to: 'd' },
    ]);
    const layer = Object.fromEntries(l.nodes.map((n) => [n.id, n.layer]));
    expect(layer).toEqual({ a: 0, b: 1, c: 2, d: 3 });
    const x = Object.fromEntries(l.nodes.map((n) => [n.id, n.x]));
    expect(x.a).toBeLessThan(x.b);
    expect(x.b).toBeLessThan(x.c);
    // The long edge a→c bends through a dummy in layer 1: 3 points.
    expect(l.edges.find((e) => e.from === 'a' && e.to === 'c')!.points).toHaveLength(3);
  });

  test('nodes of a layer never overlap, and the box holds them all', () => {
    const fan = Array.from({ length: 12 }, (_, i) => box(`t${i}`));
    const l = layoutDag([box('src'), ...fan, box('sink')], [...fan.map((f) => ({ from: 'src', to: f.id })), ...fan.map((f) => ({ from: f.id, to: 'sink' }))]);
    const mid = l.nodes.filter((n) => n.layer === 1).sort((a, b) => a.y - b.y);
    for (let i = 1; i < mid.length; i++) expect(mid[i].y - mid[i - 1].y).toBeGreaterThanOrEqual(40);
    for (const n of l.nodes) {
      expect(n.y - n.height / 2).toBeGreaterThanOrEqual(0);
      expect(n.y + n.height / 2).toBeLessThanOrEqual(l.height);
      expect(n.x + n.width / 2).toBeLessThanOrEqual(l.width);
    }
    // The source and the sink sit in the middle of the fan.
    const src = l.nodes.find((n) => n.id === 'src')!;
    expect(Math.abs(src.y - (mid[0].y + mid[mid.length - 1].y) / 2)).toBeLessThan(25);
  });

  test('barycentre sweeps remove the crossings of a crossed bipartite graph', () => {
    // Input order crosses every edge: a1→b3, a2→b2, a3→b1.
    const nodes = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'].map(box);
    const edges = [
      { from: 'a1', to: 'b3' },
      { from: 'a2', to: 'b2' },
      { from: 'a3', to: 'b1' },
    ];
    const l = layoutDag(nodes, edges);
    const order = (layer: number) => l.nodes.filter((n) => n.layer === layer).sort((a, b) => a.y - b.y).map((n) => ({ id: n.id, order: 0 }));
    const layers = [order(0), order(1)].map((ls) => ls.map((n, i) => ({ ...n, order: i })));
    const slots = new Map(layers.flat().map((s) => [s.id, s]));
    const down = new Map<string, string[]>(edges.map((e) => [e.from, [e.to]]));
    expect(crossings(layers, down, slots)).toBe(0);
  });

  test('ignores self-loops, duplicate edges and edges to unknown nodes', () => {
    const l = layoutDag([box('a'), box('b')], [
      { from: 'a', to: 'a' },
      { from: 'a', to: 'b' },
      { from: 'a', to: 'b' },
      { from: 'a', to: 'zzz' },
    ]);
    expect(l.edges).toHaveLength(1);
  });

  test('lays out 2,000 tasks quickly', () => {
    const n = 2000;
    const nodes = Array.from({ length: n }, (_, i) => box(`t${i}`));
    const edges = nodes.slice(1).map((node, i) => ({ from: `t${Math.floor(i / 3)}`, to: node.id }));
    const t0 = performance.now();
    const l = layoutDag(nodes, edges, { sweeps: 2 });
    expect(l.nodes).toHaveLength(n);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('shownGraph and taskRows', () => {
  const tasks = [
    task('prep'),
    task('fit', ['prep'], { mapped: true }),
    task('report.publish', ['fit'], { group: 'report' }),
    task('report.inner.notify', ['report.publish'], { group: 'report.inner' }),
    task('done', ['report.inner.notify']),
  ];
  const groups = [
    { group_id: 'report', parent: null },
    { group_id: 'report.inner', parent: 'report' },
  ];

  test('a collapsed group is one node, with the edges of its members', () => {
    const g = shownGraph(tasks, groups, new Set(['report']));
    expect(g.nodes.map((n) => n.id)).toEqual(['prep', 'fit', 'group:report', 'done']);
    expect(g.nodes.find((n) => n.id === 'group:report')!.tasks).toEqual(['report.publish', 'report.inner.notify']);
    expect(g.edges).toEqual([
      { from: 'prep', to: 'fit' },
      { from: 'fit', to: 'group:report' },
      { from: 'group:report', to: 'done' },
    ]);
    expect(g.nodes.find((n) => n.id === 'fit')!.mapped).toBe(true);
  });

  test('expanded groups show their tasks with short labels', () => {
    const g = shownGraph(tasks, groups, new Set());
    expect(g.nodes.find((n) => n.id === 'report.inner.notify')!.label).toBe('notify');
    expect(g.groupOf.get('report.inner.notify')).toEqual(['report', 'report.inner']);
  });

  test('grid rows: run order, group header rows, collapsed groups hide their tasks', () => {
    const open = taskRows(tasks, groups, new Set());
    expect(open.map((r) => `${r.kind}:${r.id}:${r.depth}`)).toEqual([
      'task:prep:0',
      'task:fit:0',
      'group:group:report:0',
      'task:report.publish:1',
      'group:group:report.inner:1',
      'task:report.inner.notify:2',
      'task:done:0',
    ]);
    const closed = taskRows(tasks, groups, new Set(['report']));
    expect(closed.map((r) => r.id)).toEqual(['prep', 'fit', 'group:report', 'done']);
  });

  test('topoOrder sorts by depth and keeps the file order within a depth', () => {
    expect(topoOrder([task('c', ['a']), task('b'), task('a')]).map((t) => t.task_id)).toEqual(['b', 'a', 'c']);
  });
});

describe('the params form', () => {
  const d = dag('p', {
    params: z.object({
      threshold: z.number().min(0).max(1).default(0.9).describe('register above this'),
      epochs: z.number().int().min(1).max(200).default(12),
      name: z.string().min(1).default('model'),
      mode: z.enum(['fast', 'full']).default('fast'),
      dry: z.boolean().default(false),
      tags: z.array(z.string()).default([]),
      note: z.string().optional(),
    }),
  });
  d.command('t', { command: 'true' });
  const spec = d.toSpec();
  const fields = paramFields(spec.paramsSchema as never, spec.paramsDefaults as Record<string, unknown>);

  test('one field per param, typed, with its bounds and default', () => {
    expect(fields.map((f) => [f.name, f.kind])).toEqual([
      ['threshold', 'number'],
      ['epochs', 'integer'],
      ['name', 'string'],
      ['mode', 'enum'],
      ['dry', 'boolean'],
      ['tags', 'json'],
      ['note', 'string'],
    ]);
    const epochs = fields.find((f) => f.name === 'epochs')!;
    expect([epochs.min, epochs.max, epochs.defaultValue]).toEqual([1, 200, 12]);
    expect(fields.find((f) => f.name === 'threshold')!.description).toBe('register above this');
  });

  test('the defaults make a valid conf', () => {
    const { conf, errors } = buildConf(fields, initialValues(fields));
    expect(errors).toEqual({});
    expect(conf).toEqual({ threshold: 0.9, epochs: 12, name: 'model', mode: 'fast', dry: false, tags: [] });
  });

  test('wrong values get messages in plain words', () => {
    const v = { ...initialValues(fields), epochs: '0', threshold: '1.5', name: '', tags: '[oops', mode: '"full"' };
    const { conf, errors } = buildConf(fields, v);
    expect(errors).toEqual({ epochs: 'must be at least 1', threshold: 'must be at most 1', tags: 'must be valid JSON' });
    expect(conf.mode).toBe('full');
    // An emptied field falls back to the param's default: it is left out of the conf.
    expect('name' in conf).toBe(false);
    expect(buildConf(fields, { ...initialValues(fields), epochs: '2.5' }).errors.epochs).toBe('must be a whole number');
    expect(buildConf(fields, { ...initialValues(fields), epochs: 'ten' }).errors.epochs).toBe('must be a whole number');
  });

  test("the server's 400 details land on their fields", () => {
    expect(
      serverFieldErrors([
        { field: 'body.conf.epochs', reason: 'must be >= 1' },
        { field: 'body.conf.nope', reason: 'is not a param of this DAG' },
        { field: 'body.run_id', reason: 'may contain only letters' },
      ]),
    ).toEqual({ epochs: 'must be >= 1', nope: 'is not a param of this DAG', $run_id: 'may contain only letters' });
    expect(serverFieldErrors([{ field: 'body.logical_date', reason: 'is invalid' }])).toEqual({ _form: 'body.logical_date is invalid' });
  });
});

describe('whyPending', () => {
  const ti = (state: TaskInstance['state'], more: Partial<TaskInstance> = {}): TaskInstance => ({
    dag_id: 'd', run_id: 'r', task_id: 'b', map_index: -1, state, try_number: 1, priority_weight: 1, pool: 'gpu', queued_at: null, start_date: null, end_date: null,
    duration_ms: null, next_retry_at: null, failure_class: null, failure: null, reason: null, item: null, ...more,
  });
  const detail = { is_paused: false, max_active_runs: 2, max_active_tasks: 8, graph: { tasks: [task('a'), task('b', ['a'])], groups: [] } } as unknown as DagDetail;
  const run = { state: 'running' } as RunDetail;
  const cells = new Map<string, TaskCell>([['a', { taskId: 'a', state: 'running' }]]);

  test('names the upstream tasks it waits for and the trigger rule', () => {
    expect(whyPending(ti('none'), detail, run, cells)).toEqual(['It runs when every upstream task succeeds (trigger rule all_success).', 'Waiting for a (running).']);
  });
  test("passes on the scheduler's reason while scheduled", () => {
    expect(whyPending(ti('scheduled', { reason: "waiting for pool 'gpu': 2 of 2 slots in use" }), detail, run, cells)).toEqual(["waiting for pool 'gpu': 2 of 2 slots in use"]);
  });
  test('says when the next try starts, and that the DAG is paused', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const w = whyPending(ti('up_for_retry', { failure: 'Out of memory', next_retry_at: '2026-01-01T00:00:30Z' }), { ...detail, is_paused: true }, run, cells, now)!;
    expect(w[0]).toContain('paused');
    expect(w[1]).toBe('Try 1 failed (out of memory); the next try starts in 30 s.');
  });
  test('nothing to explain for a finished task', () => {
    expect(whyPending(ti('success'), detail, run, cells)).toBeNull();
  });
});
