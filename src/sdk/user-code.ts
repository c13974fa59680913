import type { DagSpec } from '../core/spec.js';
import type { TaskContextData } from '../executors/types.js';

/**
 * How the DAG-file processor and the task workers find DAGs and the user functions in a
 * loaded module. DAG objects carry a brand from the global symbol registry, so a DAG built
 * by any copy of the SDK is recognised.
 */
export const DAG_BRAND = Symbol.for('trainyard.dag');

/** The functions a task may carry: an inline body, or functions computing args/env. */
export interface TaskCallables {
  readonly run?: (inputs: Record<string, unknown>, ctx: TaskContextData) => unknown;
  readonly args?: (ctx: TaskContextData & { inputs: Record<string, unknown> }) => readonly string[] | Promise<readonly string[]>;
  readonly env?: (
    ctx: TaskContextData & { inputs: Record<string, unknown> },
  ) => Record<string, string> | Promise<Record<string, string>>;
}

/** The option that holds the user function for each event with callbacks. */
export const CALLBACK_OPTIONS = {
  task_success: 'onSuccess',
  task_failed: 'onFailure',
  task_retry: 'onRetry',
  task_skipped: 'onSkip',
  run_success: 'onSuccess',
  run_failed: 'onFailure',
} as const;

export type CallbackEvent = keyof typeof CALLBACK_OPTIONS;

const CALLBACK_PREFIX = 'callback:';

/**
 * The id under which `callables()` finds a callback: the event, and the task for task
 * events. Task ids cannot contain ':', so it never names a task.
 */
export function callbackCodeId(event: CallbackEvent, taskId?: string): string {
  return `${CALLBACK_PREFIX}${event}${taskId ? `:${taskId}` : ''}`;
}

/** The event and task of a callback id; undefined for a task id. */
export function parseCallbackCodeId(id: string): { event: CallbackEvent; taskId?: string } | undefined {
  if (!id.startsWith(CALLBACK_PREFIX)) return undefined;
  const [event, taskId] = id.slice(CALLBACK_PREFIX.length).split(/:(.*)/s);
  if (!(event in CALLBACK_OPTIONS)) return undefined;
  return { event: event as CallbackEvent, ...(taskId ? { taskId } : {}) };
}

export interface LoadedDag {
  readonly [DAG_BRAND]: true;
  readonly dagId: string;
  /** Builds and validates the spec; throws DagValidationError. */
  toSpec(): DagSpec;
  callables(taskId: string): TaskCallables | undefined;
}

export function isLoadedDag(value: unknown): value is LoadedDag {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DAG_BRAND] === true;
}

/**
 * Every DAG a module exports, by value or in an exported array. A file compiled as CommonJS
 * (no `"type": "module"` near it) arrives wrapped as `{ default: module.exports }`, so the
 * default export's own values are looked at too.
 */
export function findDags(moduleExports: Record<string, unknown>): LoadedDag[] {
  const found = new Map<string, LoadedDag>();
  const visit = (v: unknown, depth: number) => {
    if (isLoadedDag(v)) found.set(v.dagId, v);
    else if (Array.isArray(v)) v.forEach((x) => visit(x, depth));
    else if (depth === 0 && typeof v === 'object' && v !== null) for (const x of Object.values(v)) visit(x, 1);
  };
  for (const [key, value] of Object.entries(moduleExports)) visit(value, key === 'default' ? 0 : 1);
  return [...found.values()];
}
