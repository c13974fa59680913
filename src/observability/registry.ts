/**
 * A small Prometheus registry: counters, gauges and histograms with labels, written out in
 * the text exposition format 0.0.4 (`# HELP`, `# TYPE`, samples). No dependency; the
 * process-wide registry is `defaultRegistry`.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels<L extends string> = Readonly<Record<L, string | number>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `\` and line breaks in HELP text. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `\`, `"` and line breaks in label values. */
export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

abstract class Metric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(o: MetricOptions<L>) {
    if (!NAME.test(o.name)) throw new Error(`invalid metric name '${o.name}'`);
    for (const l of o.labelNames ?? []) {
      if (!LABEL.test(l) || l.startsWith('__') || l === 'le') throw new Error(`invalid label name '${l}' on ${o.name}`);
    }
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
  }

  protected abstract initial(): S;

  protected get(labels: Labels<L> | undefined): S {
    const values = this.labelNames.map((n) => {
      const v = labels?.[n];
      if (v === undefined) throw new Error(`metric ${this.name} needs label '${n}'`);
      return String(v);
    });
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { values, state: this.initial() };
      this.series.set(key, s);
    }
    return s.state;
  }

  /** Drops one labelled series (a deleted pool, a removed DAG file). */
  remove(labels: Labels<L>): void {
    this.series.delete(this.labelNames.map((n) => String(labels[n])).join('\u0000'));
  }

  /** Drops every series. */
  reset(): void {
    this.series.clear();
  }

  protected abstract samples(values: string[], state: S): string[];

  expose(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.series.values()) lines.push(...this.samples(values, state));
    return lines.join('\n');
  }
}

export class Counter<L extends string = never> extends Metric<L, { v: number }> {
  readonly type = 'counter';
  protected initial() {
    return { v: 0 };
  }
  inc(labels?: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} can only go up (got ${by})`);
    this.get(labels).v += by;
  }
  value(labels?: Labels<L>): number {
    return this.get(labels).v;
  }
  protected samples(values: string[], s: { v: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(s.v)}`];
  }
}

export class Gauge<L extends string = never> extends Metric<L, { v: number }> {
  readonly type = 'gauge';
  protected initial() {
    return { v: 0 };
  }
  set(labels: Labels<L> | undefined, value: number): void {
    this.get(labels).v = value;
  }
  inc(labels?: Labels<L>, by = 1): void {
    this.get(labels).v += by;
  }
  dec(labels?: Labels<L>, by = 1): void {
    this.get(labels).v -= by;
  }
  value(labels?: Labels<L>): number {
    return this.get(labels).v;
  }
  protected samples(values: string[], s: { v: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(s.v)}`];
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(o: MetricOptions<L> & { readonly buckets: readonly number[] }) {
    super(o);
    const b = [...o.buckets].filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
    if (!b.length || new Set(b).size !== b.length) throw new Error(`histogram ${o.name} needs distinct finite buckets`);
    this.buckets = b;
  }
  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(labels: Labels<L> | undefined, value: number): void {
    if (!Number.isFinite(value)) return;
    const s = this.get(labels);
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  /** Count and sum of one series (for tests and dashboards in process). */
  snapshot(labels?: Labels<L>): { count: number; sum: number } {
    const s = this.get(labels);
    return { count: s.count, sum: s.sum };
  }
  protected samples(values: string[], s: HistogramState): string[] {
    const out = this.buckets.map((b, i) => `${this.name}_bucket${labelText(this.labelNames, values, `le="${formatValue(b)}"`)} ${s.counts[i]}`);
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${s.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(s.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    return out;
  }
}

/** Buckets growing by `factor` from `start`. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)));
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class Registry {
  private readonly metrics = new Map<string, AnyMetric>();
  private readonly collectors = new Set<() => void | Promise<void>>();

  counter<L extends string = never>(o: MetricOptions<L>): Counter<L> {
    return this.add(new Counter<L>(o));
  }
  gauge<L extends string = never>(o: MetricOptions<L>): Gauge<L> {
    return this.add(new Gauge<L>(o));
  }
  histogram<L extends string = never>(o: MetricOptions<L> & { readonly buckets: readonly number[] }): Histogram<L> {
    return this.add(new Histogram<L>(o));
  }

  private add<M extends AnyMetric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is already registered`);
    this.metrics.set(m.name, m);
    return m;
  }

  /** Runs before every scrape, to set gauges from live state (executor capacity, pools). Returns an unregister function. */
  onCollect(fn: () => void | Promise<void>): () => void {
    this.collectors.add(fn);
    return () => this.collectors.delete(fn);
  }

  /** The text exposition format 0.0.4. A failing collector does not fail the scrape. */
  async expose(): Promise<string> {
    for (const c of this.collectors) {
      try {
        await c();
      } catch {
        // A collector that throws leaves its gauges at their last values.
      }
    }
    return [...this.metrics.values()].map((m) => m.expose()).join('\n') + '\n';
  }
}
