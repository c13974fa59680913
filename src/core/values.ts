/**
 * Evaluates ValueExpr (spec.ts) against a task instance's context: upstream results, the
 * mapped item, DAG-run params and context values. Plain JSON is a literal; objects with a
 * `$expr` key are expressions, and are resolved wherever they are nested.
 */
import { TrainyardError } from './errors.js';
import type { ContextName, ExprNode, ValueExpr } from './spec.js';

export interface ValueContext {
  context: Record<ContextName, unknown>;
  params: Record<string, unknown>;
  /** The mapped item of a mapped task instance; absent for an unmapped one. */
  item?: unknown;
  /** The result of an upstream task (for this task instance). */
  results: (taskId: string) => unknown;
}

const EXPR_KINDS: ReadonlySet<string> = new Set([
  'result',
  'item',
  'param',
  'context',
  'template',
  'function',
]);

/** Whether a value is an expression node (an object with a string `$expr`). */
export function isExpr(v: unknown): v is ExprNode {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { $expr?: unknown }).$expr === 'string'
  );
}

/** Evaluate an expression; literals come back as they are, with nested expressions resolved. */
export function resolveValue(expr: ValueExpr, ctx: ValueContext): unknown {
  if (expr === null || typeof expr !== 'object') return expr;
  if (Array.isArray(expr)) return (expr as readonly ValueExpr[]).map((e) => resolveValue(e, ctx));
  if (isExpr(expr)) return resolveExpr(expr, ctx);
  return resolveObject(expr as { readonly [key: string]: ValueExpr }, ctx);
}

function resolveObject(
  obj: { readonly [key: string]: ValueExpr },
  ctx: ValueContext,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) out[key] = resolveValue(value, ctx);
  return out;
}

function resolveExpr(node: ExprNode, ctx: ValueContext): unknown {
  switch (node.$expr) {
    case 'result':
      return resolveResult(node.taskId, node.path, ctx);
    case 'item':
      return resolveItem(node.path, ctx);
    case 'param':
      return resolveParam(node.path, ctx);
    case 'context':
      return resolveContext(node.name, ctx);
    case 'template':
      return node.parts.map((part) => toText(resolveValue(part, ctx))).join('');
    case 'function':
      throw new TrainyardError(
        'FUNCTION_EXPR_UNRESOLVED',
        'This value is computed by a function in the DAG file, so it must be evaluated by a ' +
          'worker process that loads the DAG file, not by the scheduler.',
      );
    default:
      throw unknownExpr(node);
  }
}

function unknownExpr(node: never): TrainyardError {
  const kind = String((node as { $expr: unknown }).$expr);
  return new TrainyardError(
    'INVALID_EXPR',
    `Unknown expression kind '${kind}'. Known kinds: ${[...EXPR_KINDS].join(', ')}.`,
  );
}

function resolveResult(taskId: string, path: readonly string[], ctx: ValueContext): unknown {
  const result = ctx.results(taskId);
  if (result === undefined) {
    throw new TrainyardError(
      'RESULT_MISSING',
      `Task '${taskId}' has no result. Make sure it writes JSON to TRAINYARD_RESULT_PATH ` +
        `and succeeded before this task runs.`,
    );
  }
  const found = walkPath(result, path);
  if (!found.ok) {
    throw new TrainyardError(
      'RESULT_PATH_MISSING',
      `The result of task '${taskId}' has no value at ${formatPath(path)} ` +
        `(missing at ${formatPath(path.slice(0, found.depth + 1))}). ` +
        `Check the key names against what the task returns.`,
    );
  }
  return found.value;
}

function resolveItem(path: readonly string[], ctx: ValueContext): unknown {
  if (ctx.item === undefined) {
    throw new TrainyardError(
      'ITEM_UNAVAILABLE',
      'This value refers to the mapped item, but the task instance is not mapped. ' +
        'Use the item only in the inputs of a mapped task.',
    );
  }
  const found = walkPath(ctx.item, path);
  if (!found.ok) {
    throw new TrainyardError(
      'ITEM_PATH_MISSING',
      `The mapped item has no value at ${formatPath(path)}. Check the key names of the mapped input.`,
    );
  }
  return found.value;
}

function resolveParam(path: readonly string[], ctx: ValueContext): unknown {
  const found = walkPath(ctx.params, path);
  if (!found.ok) {
    throw new TrainyardError(
      'PARAM_MISSING',
      `The run has no param at ${formatPath(path)}. Give it a default in the DAG's params, ` +
        `or pass it when triggering the run.`,
    );
  }
  return found.value;
}

function resolveContext(name: ContextName, ctx: ValueContext): unknown {
  if (!Object.hasOwn(ctx.context, name)) {
    throw new TrainyardError(
      'CONTEXT_MISSING',
      `The context value '${name}' is not available to this task instance.`,
    );
  }
  return ctx.context[name];
}

type PathLookup = { ok: true; value: unknown } | { ok: false; depth: number };

/** Follow keys (array indices as decimal strings) into a JSON value. */
export function walkPath(root: unknown, path: readonly string[]): PathLookup {
  let current = root;
  for (let depth = 0; depth < path.length; depth++) {
    const next = childOf(current, path[depth]);
    if (!next.found) return { ok: false, depth };
    current = next.value;
  }
  return { ok: true, value: current };
}

function childOf(value: unknown, key: string): { found: true; value: unknown } | { found: false } {
  if (Array.isArray(value)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) return { found: false };
    const index = Number(key);
    return index < value.length ? { found: true, value: value[index] } : { found: false };
  }
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, key)) {
    const child = (value as Record<string, unknown>)[key];
    return child === undefined ? { found: false } : { found: true, value: child };
  }
  return { found: false };
}

function formatPath(path: readonly string[]): string {
  return path.length === 0 ? 'the top level' : `path '${path.join('.')}'`;
}

/**
 * A value as text: strings as they are, numbers and booleans with String(), everything
 * else (null, lists, objects) as JSON.
 */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/** Resolve a command's arguments, each to one string. */
export function resolveArgs(args: readonly ValueExpr[], ctx: ValueContext): string[] {
  return args.map((arg) => toText(resolveValue(arg, ctx)));
}

/** The ids of all tasks whose results an expression reads, each once, in order of appearance. */
export function referencedTasks(expr: ValueExpr): string[] {
  const ids = new Set<string>();
  collectReferences(expr, ids);
  return [...ids];
}

function collectReferences(expr: ValueExpr, ids: Set<string>): void {
  if (expr === null || typeof expr !== 'object') return;
  if (Array.isArray(expr)) {
    for (const e of expr as readonly ValueExpr[]) collectReferences(e, ids);
    return;
  }
  if (isExpr(expr)) {
    if (expr.$expr === 'result') ids.add(expr.taskId);
    if (expr.$expr === 'template') for (const part of expr.parts) collectReferences(part, ids);
    return;
  }
  for (const value of Object.values(expr as { readonly [key: string]: ValueExpr })) {
    collectReferences(value, ids);
  }
}
