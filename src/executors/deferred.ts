/**
 * Values of a launch that depend on an upstream result kept in the artifact store. The
 * scheduler holds only the small reference (`{"$artifact": uri, "bytes": n}`), so it cannot
 * evaluate such values; it hands the expressions and the stored results to the executor, and
 * a worker reads the references and evaluates them before the try starts.
 */
import { resolveArgs, resolveValue, toText, type ValueContext } from '../core/values.js';
import type { ContextName, ValueExpr } from '../core/spec.js';
import type { TaskContextData } from './types.js';

export interface DeferredValues {
  /** Upstream results the try reads, by task id, as stored: some are (or hold) references. */
  readonly results: Readonly<Record<string, unknown>>;
  /** The task's inputs, unevaluated. */
  readonly inputs: Readonly<Record<string, ValueExpr>>;
  /** A command task's command, and its args and plain env when they are values rather than functions. */
  readonly command?: {
    readonly command: ValueExpr;
    readonly args?: readonly ValueExpr[];
    readonly env?: Readonly<Record<string, ValueExpr>>;
  };
}

/** What deferred values evaluate to once the references are read. */
export interface ResolvedValues {
  readonly inputs: Record<string, unknown>;
  readonly command?: string;
  readonly args?: string[];
  readonly env?: Record<string, string>;
}

/** A ValueContext for `core/values` built from a try's context and upstream results. */
export function valueContext(c: TaskContextData, results: (taskId: string) => unknown): ValueContext {
  const context: Record<ContextName, unknown> = {
    dagId: c.dagId,
    runId: c.runId,
    taskId: c.taskId,
    mapIndex: c.mapIndex,
    tryNumber: c.tryNumber,
    ds: c.ds,
    dsNodash: c.ds.replaceAll('-', ''),
    logicalDate: c.logicalDate,
    dataIntervalStart: c.dataIntervalStart,
    dataIntervalEnd: c.dataIntervalEnd,
    artifactsDir: c.artifactsDir,
    runArtifactsDir: c.runArtifactsDir,
    checkpointDir: c.checkpointDir,
    conf: c.conf,
  };
  return { context, params: { ...c.params }, item: c.item, results };
}

export function resolveInputs(inputs: Readonly<Record<string, ValueExpr>>, vc: ValueContext): Record<string, unknown> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, resolveValue(v, vc)]));
}

/** Evaluates deferred values against results whose references have been read. */
export function evaluateDeferred(d: DeferredValues, context: TaskContextData, results: Readonly<Record<string, unknown>>): ResolvedValues {
  const vc = valueContext(context, (id) => (Object.hasOwn(results, id) ? results[id] : undefined));
  const inputs = resolveInputs(d.inputs, vc);
  const cmd = d.command;
  if (!cmd) return { inputs };
  return {
    inputs,
    command: toText(resolveValue(cmd.command, vc)),
    ...(cmd.args ? { args: resolveArgs(cmd.args, vc) } : {}),
    ...(cmd.env ? { env: Object.fromEntries(Object.entries(cmd.env).map(([k, v]) => [k, toText(resolveValue(v, vc))])) } : {}),
  };
}
