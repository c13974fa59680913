import { referencedTasks, resolveArgs, resolveValue, toText } from '../core/values.js';
import type { ExprNode, ValueExpr } from '../core/spec.js';
import type { AnyLaunch, TryKey } from '../executors/types.js';
import { splitSecretEnv } from '../secrets/resolver.js';
import { deferredCommand, offloadedResults } from './offloaded-inputs.js';
import type { HomeLayout } from './paths.js';
import type { RunModel, TiModel } from './run-model.js';
import { contractEnv, resolveInputs, taskContextData, valueContext } from './task-context.js';
import { effectivePod, effectiveResources } from './task-overrides.js';

export interface LaunchSettings {
  readonly layout: HomeLayout;
  readonly killGraceMs: number;
  readonly resultLimitBytes: number;
  /** The DAG file, for tasks whose code runs in a worker. */
  readonly dagFile: string;
}

const isFunctionExpr = (v: unknown): v is ExprNode => typeof v === 'object' && v !== null && (v as ExprNode).$expr === 'function';

/**
 * Builds the executor's launch request for a try: resolves inputs, args and env from
 * upstream results (which must be in `run.results`). It names the try's directories; the
 * executor makes them. Values that read a result kept in the artifact store are not
 * evaluated here: they go to the executor as `deferred` (see offloaded-inputs.ts).
 * Throws when an input cannot be resolved.
 */
export function buildLaunch(run: RunModel, ti: TiModel, key: TryKey, s: LaunchSettings): AnyLaunch {
  const spec = ti.task.spec;
  const context0 = taskContextData(run.row, key, s.layout, ti.item, {});
  const vc = valueContext(context0, (id) => run.results.get(id));
  const stored = offloadedResults(run, neededResults(ti));
  const context = { ...context0, inputs: stored ? {} : resolveInputs(spec.inputs, vc) };
  const resultPath = s.layout.tryResultPath(key);
  const base = {
    key,
    // TRAINYARD_HOME is for local tasks only (e.g. the example's model folder).
    env: { ...contractEnv(context, resultPath, key.tryNumber > 1), TRAINYARD_HOME: s.layout.home },
    resources: effectiveResources(ti),
    executionTimeoutMs: spec.executionTimeoutMs,
    killGraceMs: s.killGraceMs,
    logPath: s.layout.logPath(key),
    resultPath,
    resultLimitBytes: s.resultLimitBytes,
    // Made by the executor, off the scheduler's loop.
    dirs: s.layout.tryDirs(key),
  };
  const code = { file: s.dagFile, dagId: key.dagId, taskId: key.taskId };
  if (spec.kind === 'inline') return { ...base, kind: 'inline', code, context, ...(stored ? { deferred: { results: stored, inputs: spec.inputs } } : {}) };
  if (spec.kind === 'sensor') {
    if (stored) throw new Error(`a sensor cannot read a result kept in the artifact store (from ${Object.keys(stored).join(', ')}); pass the sensor a value under the inline result limit`);
    const sensor = spec.sensor!;
    const opts = { options: sensor.options, logicalDate: run.row.logical_date };
    // A custom check is a function in the DAG file: a worker runs it with the try's context.
    if (isFunctionExpr(sensor.check)) return { ...base, kind: 'sensor', sensor: { kind: 'custom' }, ...opts, code, context };
    return { ...base, kind: 'sensor', sensor: resolveValue(sensor.check, vc) as Record<string, unknown>, ...opts };
  }

  const cmd = spec.command!;
  const argsFn = isFunctionExpr(cmd.args);
  const envFn = isFunctionExpr(cmd.env);
  // Secret references go to the executor as they are: their values never pass through here.
  const { plain, secrets } = envFn ? { plain: {}, secrets: {} } : splitSecretEnv(cmd.env as Record<string, ValueExpr>);
  const declaredEnv = stored ? {} : Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, toText(resolveValue(v, vc))]));
  return {
    ...base,
    env: { ...base.env, ...declaredEnv },
    kind: 'command',
    command: stored ? '' : toText(resolveValue(cmd.command, vc)),
    args: argsFn || stored ? [] : resolveArgs(cmd.args as readonly ValueExpr[], vc),
    cwd: cmd.cwd,
    shell: cmd.shell,
    skipExitCode: spec.skipExitCode,
    image: cmd.image,
    pod: effectivePod(run, spec),
    ...(Object.keys(secrets).length ? { secretEnv: secrets } : {}),
    ...(argsFn || envFn || stored ? { render: { code, context, args: argsFn, env: envFn } } : {}),
    ...(stored ? { deferred: deferredCommand(stored, spec.inputs, cmd, plain, argsFn) } : {}),
  };
}

/** Upstream task ids whose results a try needs to launch. */
export function neededResults(ti: TiModel): string[] {
  const spec = ti.task.spec;
  const exprs: ValueExpr[] = [spec.inputs];
  if (spec.command) exprs.push(spec.command.command, spec.command.args as ValueExpr, spec.command.env as ValueExpr);
  if (spec.sensor) exprs.push(spec.sensor.check);
  return referencedTasks(exprs);
}
