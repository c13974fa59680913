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
