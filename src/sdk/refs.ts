import type { ContextName, ExprNode, ValueExpr } from '../core/spec.js';

/**
 * A typed handle on a value known only when a task runs: an upstream result (or a part of
 * it), a param, the mapped item, or a context value. Refs serialise to expressions that
 * `core` evaluates, so passing one never runs user code in the scheduler.
 */
const REF = Symbol.for('trainyard.ref');

export interface Ref<T> {
  readonly [REF]: ExprNode;
  /** Phantom: carries the value's type. Never set. */
  readonly __type?: T;
}

export function makeRef<T>(expr: ExprNode): Ref<T> {
  return { [REF]: expr } as Ref<T>;
}

export function isRef(value: unknown): value is Ref<unknown> {
  return typeof value === 'object' && value !== null && REF in value;
}

export function refExpr(ref: Ref<unknown>): ExprNode {
  return ref[REF];
}

/** A result ref narrowed to one key of the result. */
export function resultRef<T>(taskId: string, path: readonly string[] = []): Ref<T> {
  return makeRef<T>({ $expr: 'result', taskId, path });
}

/** A param of the run (defaults merged with the trigger's conf). */
export function param<T = unknown>(path: string): Ref<T> {
  return makeRef<T>({ $expr: 'param', path: path.split('.') });
}

/** A key of the mapped item (for a mapped task). */
export function item<T = unknown>(path?: string): Ref<T> {
  return makeRef<T>({ $expr: 'item', path: path ? path.split('.') : [] });
}

const contextRef = <T>(name: ContextName) => makeRef<T>({ $expr: 'context', name });

/** Context values usable in args and env: `['--date', ctx.ds]`. */
export const ctx = {
  dagId: contextRef<string>('dagId'),
  runId: contextRef<string>('runId'),
  taskId: contextRef<string>('taskId'),
  mapIndex: contextRef<number>('mapIndex'),
  tryNumber: contextRef<number>('tryNumber'),
  ds: contextRef<string>('ds'),
  dsNodash: contextRef<string>('dsNodash'),
  logicalDate: contextRef<string>('logicalDate'),
  dataIntervalStart: contextRef<string>('dataIntervalStart'),
  dataIntervalEnd: contextRef<string>('dataIntervalEnd'),
  artifactsDir: contextRef<string>('artifactsDir'),
  runArtifactsDir: contextRef<string>('runArtifactsDir'),
  checkpointDir: contextRef<string>('checkpointDir'),
  /** The trigger's conf, as given. */
  conf: contextRef<Record<string, unknown>>('conf'),
} as const;

/** A string built from text and refs: tpl`--out=${ctx.artifactsDir}/model.json`. */
export function tpl(strings: TemplateStringsArray, ...values: readonly (Ref<unknown> | string | number)[]): Ref<string> {
  const parts: ValueExpr[] = [];
  strings.forEach((s, i) => {
    if (s) parts.push(s);
    if (i < values.length) parts.push(toExpr(values[i]));
  });
  return makeRef<string>({ $expr: 'template', parts });
}

/** Converts a value that may hold refs anywhere inside it into a serialisable expression. */
export function toExpr(value: unknown): ValueExpr {
  if (isRef(value)) return refExpr(value);
  if (Array.isArray(value)) return value.map(toExpr);
  if (value === undefined) return null;
  if (typeof value === 'object' && value !== null) {
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, ValueExpr> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toExpr(v);
    return out;
  }
  if (typeof value === 'function') throw new TypeError('a function cannot be passed as a value here');
  return value as ValueExpr;
}

/** The value type a ref or literal stands for. */
export type Unref<T> = T extends Ref<infer U> ? U : T;
export type UnrefAll<T> = { readonly [K in keyof T]: Unref<T[K]> };
