import { TrainyardError } from '../core/errors.js';
import { manualDataInterval } from '../core/schedule.js';
import type { DagSpec } from '../core/spec.js';
import type { RunType } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { schemaProblems } from './outcome.js';
import { OVERRIDES_KEY, parseOverrides, userConf } from './task-overrides.js';

export interface TriggerOptions {
  readonly conf?: Record<string, unknown>;
  readonly runId?: string;
  /** Epoch ms; defaults to now. */
  readonly logicalDate?: number;
  readonly dataIntervalStart?: number;
  readonly dataIntervalEnd?: number;
  readonly runType?: RunType;
  /** Machine presets this process knows; a machine override naming another is refused (default: not checked here). */
  readonly machines?: readonly string[];
}

/**
 * Validates a trigger's conf against the DAG's params, and its task overrides
 * (`trainyard.overrides`, see task-overrides.ts); returns the merged params or throws naming each field.
 */
export function validateConf(spec: DagSpec, conf: Record<string, unknown>, machines?: readonly string[]): Record<string, unknown> {
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
    throw new TrainyardError('INVALID_CONF', 'conf must be a JSON object, e.g. {"epochs": 5}');
  }
  if (conf[OVERRIDES_KEY] !== undefined) parseOverrides(spec, conf[OVERRIDES_KEY], machines);
  const params = { ...spec.paramsDefaults, ...userConf(conf) };
  if (spec.paramsSchema) {
    const problems = schemaProblems(spec.paramsSchema, params);
    if (problems) {
      throw new TrainyardError('INVALID_CONF', `conf does not match the params of DAG '${spec.dagId}': ${problems.replaceAll(/(^|; )\//g, '$1field ')}`);
    }
  }
  return params;
}

/** Creates a queued run of the DAG's latest version. The conf is validated first, so an invalid trigger creates nothing. */
export async function triggerRun(store: Store, dagId: string, opts: TriggerOptions, now: number): Promise<{ runId: string }> {
  const dag = await store.getDag(dagId);
  if (!dag) throw new TrainyardError('DAG_NOT_FOUND', `no DAG '${dagId}'; list DAGs with \`trainyard dags list\``);
  const spec = await store.getSpec(dagId, dag.latest_version);
  if (!spec) throw new TrainyardError('DAG_NOT_FOUND', `DAG '${dagId}' has no stored version; is its file loading? See \`trainyard dags list-import-errors\``);
  const conf = opts.conf ?? {};
  const params = validateConf(spec, conf, opts.machines);
  const logicalDate = opts.logicalDate ?? now;
  // Airflow's data interval of a manual run: the schedule's latest complete interval.
  const interval = opts.dataIntervalStart === undefined ? manualDataInterval(spec.schedule, logicalDate) : undefined;
  const runType = opts.runType ?? 'manual';
  const runId = opts.runId ?? `${runType}__${new Date(logicalDate).toISOString()}`;
  await store.createRun({
    dag_id: dagId,
    run_id: runId,
    state: 'queued',
    run_type: runType,
    version_hash: dag.latest_version,
    conf: JSON.stringify(conf),
    params: JSON.stringify(params),
    logical_date: logicalDate,
    data_interval_start: opts.dataIntervalStart ?? interval!.start,
    data_interval_end: opts.dataIntervalEnd ?? interval!.end,
    queued_at: now,
    start_date: null,
    end_date: null,
    change_seq: 0,
    note: null,
  });
  return { runId };
}
