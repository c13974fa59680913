/**
 * Launches that read results kept in the artifact store. The scheduler holds only the
 * references, so it evaluates nothing that reads them: the values go to the executor as
 * expressions, with the stored results, and a worker evaluates them after reading.
 */
import { holdsArtifactRef } from '../artifacts/offload.js';
import type { CommandSpec, ValueExpr } from '../core/spec.js';
import type { DeferredValues } from '../executors/deferred.js';
import type { RunModel } from './run-model.js';

/** The results a try reads, by task id, when any of them is or holds a reference; else undefined. */
export function offloadedResults(run: RunModel, taskIds: readonly string[]): Record<string, unknown> | undefined {
  let offloaded = false;
  const results: Record<string, unknown> = {};
  for (const id of taskIds) {
    const value = run.results.get(id);
    if (value === undefined) continue;
    results[id] = value;
    offloaded ||= holdsArtifactRef(value);
  }
  return offloaded ? results : undefined;
}

/** A command task's deferred values: its command, and its args and plain env unless functions compute them. */
export function deferredCommand(
  results: Record<string, unknown>,
  inputs: Readonly<Record<string, ValueExpr>>,
  cmd: CommandSpec,
  plainEnv: Readonly<Record<string, ValueExpr>>,
  argsFn: boolean,
): DeferredValues {
  return {
    results,
    inputs,
    command: { command: cmd.command, ...(argsFn ? {} : { args: cmd.args as readonly ValueExpr[] }), env: plainEnv },
  };
}
