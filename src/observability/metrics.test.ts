import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  apiMetricsMiddleware,
  createTrainyardMetrics,
  metricsHandler,
  recordDagParse,
  recordSchedulingDelay,
  recordTryFinished,
  recordTryStarted,
  routeLabel,
  setExecutorCapacity,
  setImportErrorCount,
  setPoolSlots,
  setTaskInstanceCounts,
  startMetricsServer,
  timeSchedulerLoop,
  trackExecutorCapacity,
} from './metrics.js';
import { Registry } from './registry.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}
interface Family {
  help?: string;
  type?: string;
  readonly samples: Sample[];
}

/** A strict parser of the text exposition format 0.0.4: throws on any line it does not understand. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  const unescape = (s: string) => s.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  const baseName = (name: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && families.get(base)?.type === 'histogram') return base;
    }
    return name;
  };
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/))) {
      family(m[1]).help = m[2].replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
    } else if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) {
      expect(families.get(m[1])?.samples.length ?? 0, `TYPE of ${m[1]} after its samples`).toBe(0);
      family(m[1]).type = m[2];
    } else if ((m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/))) {
      const labels: Record<string, string> = {};
      if (m[2]) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/gy;
        let consumed = 0;
        for (let l = re.exec(m[2]); l; l = re.exec(m[2])) {
          labels[l[1]] = unescape(l[2]);
          consumed = re.lastIndex;
        }
        expect(consumed, `label set ${m[2]}`).toBe(m[2].length);
      }
      const raw = m[3];
      const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
      expect(Number.isNaN(value) && raw !== 'NaN', `value ${raw}`).toBe(false);
      const f = families.get(baseName(m[1]));
      expect(f?.type, `sample ${m[1]} without a TYPE line`).toBeDefined();
      f!.samples.push({ name: m[1], labels, value });
    } else {
      throw new Error(`unparseable exposition line: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

function sample(f: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const fam = f.get(name) ?? f.get(base);
  return fam?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}

describe('the registry', () => {
  it('writes counters, gauges and histograms that parse back, with escaped labels and help', async () => {
    const r = new Registry();
    const c = r.counter<'path'>({ name: 'x_total', help: 'a "help"\\ with\na line break', labelNames: ['path'] });
    c.inc({ path: 'a"b\\c\nd' }, 2);
    const g = r.gauge({ name: 'x_gauge', help: 'g' });
    g.set(undefined, -Infinity);
    const h = r.histogram({ name: 'x_seconds', help: 'h', buckets: [0.1, 1, 10] });
    for (const v of [0.05, 0.1, 0.5, 5, 50]) h.observe(undefined, v);
    const f = parseExposition(await r.expose());
    expect(f.get('x_total')!.help).toBe('a "help"\\ with\na line break');
    expect(sample(f, 'x_total', { path: 'a"b\\c\nd' })).toBe(2);
    expect(sample(f, 'x_gauge', {})).toBe(-Infinity);
    expect(sample(f, 'x_seconds_bucket', { le: '0.1' })).toBe(2);
    expect(sample(f, 'x_seconds_bucket', { le: '1' })).toBe(3);
    expect(sample(f, 'x_seconds_bucket', { le: '10' })).toBe(4);
    expect(sample(f, 'x_seconds_bucket', { le: '+Inf' })).toBe(5);
    expect(sample(f, 'x_seconds_count', {})).toBe(5);
    expect(sample(f, 'x_seconds_sum', {})).toBeCloseTo(55.65);
  });

  it('refuses bad names, missing labels, decreasing counters and duplicate registration', () => {
    const r = new Registry();
    expect(() => r.counter({ name: 'bad-name', help: '' })).toThrow(/invalid metric name/);
    expect(() => r.histogram<'le'>({ name: 'h', help: '', labelNames: ['le'], buckets: [1] })).toThrow(/invalid label name/);
    const c = r.counter<'a'>({ name: 'c_total', help: '', labelNames: ['a'] });
    expect(() => c.inc({} as { a: string })).toThrow(/needs label 'a'/);
    expect(() => c.inc({ a: 'x' }, -1)).toThrow(/only go up/);
    expect(() => r.counter({ name: 'c_total', help: '' })).toThrow(/already registered/);
  });
});

describe('Trainyard metrics', () => {
  it('records tries, durations by DAG and task (never by run), delays, loops, gauges, pools, capacity and parsing', async () => {
    const m = createTrainyardMetrics();
    recordTryStarted('train', 'local', m);
    recordTryStarted('train', 'kubernetes', m);
    recordTryFinished('train', 'fit', 'success', undefined, 42, m);
    recordTryFinished('train', 'fit', 'failed', 'oom_killed', 3, m);
    recordTryFinished('train', 'fit', 'failed', 'oom_killed', 4, m);
    recordSchedulingDelay('train', 0.02, m);
    await timeSchedulerLoop(async () => 1, m);
    setTaskInstanceCounts(7, 3, m);
    setPoolSlots([{ name: 'gpu', slots: 4, used: 3 }, { name: 'default_pool', slots: 128, used: 1 }], m);
    setPoolSlots([{ name: 'gpu', slots: 4, used: 1 }], m);
    trackExecutorCapacity({ local: { capacity: () => ({ cpu: { used: 1.5, total: 2 }, memoryMb: { used: 512, total: 2048 }, gpu: { used: 1, total: 2 }, running: 2 }) } }, m);
    recordDagParse('/dags/a.ts', 0.3, m);
    setImportErrorCount(2, m);

    const text = await m.registry.expose();
    const f = parseExposition(text);
    expect(sample(f, 'trainyard_tries_started_total', { dag_id: 'train', executor: 'kubernetes' })).toBe(1);
    expect(sample(f, 'trainyard_tries_finished_total', { dag_id: 'train', state: 'failed', failure_class: 'oom_killed' })).toBe(2);
    expect(sample(f, 'trainyard_tries_finished_total', { dag_id: 'train', state: 'success', failure_class: 'none' })).toBe(1);
    expect(sample(f, 'trainyard_task_duration_seconds_count', { dag_id: 'train', task_id: 'fit', state: 'failed' })).toBe(2);
    expect(sample(f, 'trainyard_task_duration_seconds_bucket', { dag_id: 'train', task_id: 'fit', state: 'success', le: '60' })).toBe(1);
    expect(sample(f, 'trainyard_task_duration_seconds_bucket', { dag_id: 'train', task_id: 'fit', state: 'success', le: '30' })).toBe(0);
    expect(sample(f, 'trainyard_scheduling_delay_seconds_count', { dag_id: 'train' })).toBe(1);
    expect(sample(f, 'trainyard_scheduler_loop_duration_seconds_count', {})).toBe(1);
    expect(sample(f, 'trainyard_task_instances_queued', {})).toBe(7);
    expect(sample(f, 'trainyard_task_instances_running', {})).toBe(3);
    expect(sample(f, 'trainyard_pool_slots_used', { pool: 'gpu' })).toBe(1);
    expect(sample(f, 'trainyard_pool_slots_free', { pool: 'gpu' })).toBe(3);
    expect(sample(f, 'trainyard_pool_slots_free', { pool: 'default_pool' })).toBeUndefined();
    expect(sample(f, 'trainyard_executor_capacity_used', { executor: 'local', resource: 'memory_bytes' })).toBe(512 * 1024 * 1024);
    expect(sample(f, 'trainyard_executor_capacity_free', { executor: 'local', resource: 'cpu' })).toBe(0.5);
    expect(sample(f, 'trainyard_executor_capacity_free', { executor: 'local', resource: 'gpu' })).toBe(1);
    expect(sample(f, 'trainyard_dag_parse_duration_seconds_count', {})).toBe(1);
    expect(sample(f, 'trainyard_dag_import_errors', {})).toBe(2);
    // No series anywhere is labelled by run or map index.
    for (const fam of f.values()) for (const s of fam.samples) expect(Object.keys(s.labels)).not.toContain('run_id');
    for (const fam of f.values()) expect(fam.help && fam.type).toBeTruthy();
  });

  it('times API requests by route pattern, not by path, and serves /metrics in the exposition format', async () => {
    const m = createTrainyardMetrics();
    const app = new Hono();
    app.use('*', apiMetricsMiddleware(m));
    app.get('/api/v1/dags/:dag_id/runs/:run_id', (c) => c.json({ ok: c.req.param('run_id') }));
    app.get('/metrics', metricsHandler(m.registry));
    for (const run of ['r1', 'r2', 'manual__2026-01-01T00:00:00']) expect((await app.request(`/api/v1/dags/d/runs/${encodeURIComponent(run)}`)).status).toBe(200);
    expect((await app.request('/no/such/path')).status).toBe(404);
    const res = await app.request('/metrics');
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const f = parseExposition(await res.text());
    expect(sample(f, 'trainyard_api_request_duration_seconds_count', { method: 'GET', route: '/api/v1/dags/{dag_id}/runs/{run_id}', status: '200' })).toBe(3);
    expect(sample(f, 'trainyard_api_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const routes = new Set(f.get('trainyard_api_request_duration_seconds')!.samples.map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(['/api/v1/dags/{dag_id}/runs/{run_id}', 'unmatched']);
    expect(routeLabel('/api/v1/*')).toBe('unmatched');
  });

  it('serves /metrics from a bare server for processes without the API', async () => {
    const m = createTrainyardMetrics();
    setExecutorCapacity('local', { cpu: { used: 0, total: 4 }, memoryMb: { used: 0, total: 1 }, gpu: { used: 0, total: 0 }, running: 0 }, m);
    const s = await startMetricsServer(0, '127.0.0.1', m.registry);
    try {
      const res = await fetch(s.url);
      expect(res.status).toBe(200);
      const f = parseExposition(await res.text());
      expect(sample(f, 'trainyard_executor_capacity_free', { executor: 'local', resource: 'cpu' })).toBe(4);
      expect(f.get('trainyard_build_info')!.samples[0].value).toBe(1);
      expect((await fetch(s.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
