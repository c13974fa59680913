/**
 * The model registry as a task: a command task in a DAG runs
 *
 *   node <dist>/ml/registry-task.js register --name digits --uri file:///…/model.json \
 *        --metric test_accuracy=0.97 --from-task train --from-map-index 3 --metrics-from-try \
 *        [--promote-to production --gate-metric test_accuracy --margin 0.01]
 *   node <dist>/ml/registry-task.js promote --name digits --version 4 --alias production \
 *        [--gate-metric test_accuracy --direction max --margin 0.01 --against production] [--on-reject succeed|skip|fail]
 *
 * Lineage comes from the task contract's environment (TRAINYARD_DAG_ID, _RUN_ID, _TASK_ID,
 * _MAP_INDEX, _TRY_NUMBER, and TRAINYARD_IMAGE_DIGEST when the executor sets it); the run's
 * data interval, ds and DAG version are read from the store. `--from-task T [--from-map-index I]`
 * names the task instance that made the model instead (e.g. the best trial of a sweep); its
 * latest try is the lineage's try, and `--metrics-from-try` / `--params-from-try` copy that
 * try's last metric values and that instance's params (its mapped item and reported params).
 *
 * The result (JSON, to TRAINYARD_RESULT_PATH, and printed) is the version
 * `{ name, version, uri, metrics, aliases, promotion? }` or the promotion
 * `{ name, version, alias, promoted, reason, candidate?, baseline? }`. A gate that says no
 * is not an error: the task succeeds with `promoted: false` (`--on-reject skip` exits with
 * the skip code 99, `--on-reject fail` exits 1).
 *
 * The store is the one of the task's Trainyard: TRAINYARD_DATABASE_URL, or
 * $TRAINYARD_HOME/trainyard.db (the local executor sets TRAINYARD_HOME).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { TrainyardError } from '../core/errors.js';
import { migrateToLatest, openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';
import { type Lineage, promote, type PromotionResult, register, resolveVersion } from './registry.js';

export const SKIP_EXIT_CODE = 99;

const USAGE = `usage:
  registry-task register --name NAME --uri URI [--metric NAME=VALUE]... [--metrics-json JSON] [--params-json JSON]
                         [--from-task TASK [--from-map-index N]] [--metrics-from-try] [--params-from-try]
                         [--alias ALIAS]... [--description TEXT]
                         [--promote-to ALIAS [--gate-metric M] [--direction max|min] [--margin X] [--against ALIAS]]
  registry-task promote  --name NAME --version N|latest|ALIAS --alias ALIAS
                         [--gate-metric M] [--direction max|min] [--margin X] [--against ALIAS]
  either: [--on-reject succeed|skip|fail]`;

class ArgError extends TrainyardError {
  constructor(message: string) {
    super('REGISTRY_TASK_USAGE', `${message}\n${USAGE}`);
  }
}

function jsonObject(flag: string, raw: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new ArgError(`${flag} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ArgError(`${flag} must be a JSON object`);
  return v as Record<string, unknown>;
}

function toUri(raw: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return raw;
  // A plain path: make it a file:// URI, so the registry never holds a path relative to some cwd.
  return pathToFileURL(path.resolve(raw)).toString();
}

function intEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  readonly out: (line: string) => void;
}

/** Runs one invocation; returns the exit code. */
export async function main(argv: readonly string[], io: Io = { env: process.env, now: Date.now, out: (l) => process.stdout.write(`${l}\n`) }): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'register' && command !== 'promote') throw new ArgError(command ? `unknown command '${command}'` : 'no command given');
  const { values: o } = parseArgs({
    args: [...rest],
    strict: true,
    options: {
      name: { type: 'string' },
      uri: { type: 'string' },
      version: { type: 'string' },
      alias: { type: 'string', multiple: true },
      metric: { type: 'string', multiple: true },
      'metrics-json': { type: 'string' },
      'params-json': { type: 'string' },
      description: { type: 'string' },
      'from-task': { type: 'string' },
      'from-map-index': { type: 'string' },
      'metrics-from-try': { type: 'boolean' },
      'params-from-try': { type: 'boolean' },
      'promote-to': { type: 'string' },
      'gate-metric': { type: 'string' },
      direction: { type: 'string' },
      margin: { type: 'string' },
      against: { type: 'string' },
      'on-reject': { type: 'string' },
    },
  });
  if (!o.name) throw new ArgError('--name is required');
  const onReject = o['on-reject'] ?? 'succeed';
  if (!['succeed', 'skip', 'fail'].includes(onReject)) throw new ArgError(`--on-reject must be succeed, skip or fail, not '${onReject}'`);
  const direction = o.direction ?? 'max';
  if (direction !== 'max' && direction !== 'min') throw new ArgError(`--direction must be max or min, not '${direction}'`);
  const margin = o.margin === undefined ? 0 : Number(o.margin);
  if (!Number.isFinite(margin) || margin < 0) throw new ArgError(`--margin must be a number ≥ 0, not '${o.margin}'`);
  const gate = o['gate-metric'] ? { metric: o['gate-metric'], direction: direction as 'min' | 'max', margin, against: o.against } : undefined;

  const env = io.env;
  const self = {
    dagId: env.TRAINYARD_DAG_ID,
    runId: env.TRAINYARD_RUN_ID,
    taskId: env.TRAINYARD_TASK_ID,
    mapIndex: intEnv(env, 'TRAINYARD_MAP_INDEX'),
    tryNumber: intEnv(env, 'TRAINYARD_TRY_NUMBER'),
  };
  const actor = self.dagId ? `task:${self.dagId}/${self.runId}/${self.taskId}${(self.mapIndex ?? -1) >= 0 ? `[${self.mapIndex}]` : ''}#${self.tryNumber}` : 'registry-task';

  const config = loadConfig({}, env);
  const database = await openDatabase({ url: config.databaseUrl, poolSize: 2 });
  try {
    await migrateToLatest(database.db);
    const store = new Store(database.db, database.dialect);
    let result: Record<string, unknown>;
    let promotion: PromotionResult | undefined;

    if (command === 'register') {
      if (!o.uri) throw new ArgError('register needs --uri');
      const metrics: Record<string, number> = {};
      const lineage: { -readonly [K in keyof Lineage]: Lineage[K] } = { ...self, imageDigest: env.TRAINYARD_IMAGE_DIGEST || undefined };
      let params: Record<string, unknown> = {};
      if (o['from-task']) {
        if (!self.dagId || !self.runId) throw new ArgError('--from-task needs TRAINYARD_DAG_ID and TRAINYARD_RUN_ID (it runs as a task)');
        const mapIndex = o['from-map-index'] === undefined ? -1 : Number(o['from-map-index']);
        if (!Number.isInteger(mapIndex)) throw new ArgError(`--from-map-index must be a whole number, not '${o['from-map-index']}'`);
        const ti = await store.getTaskInstance({ dagId: self.dagId, runId: self.runId, taskId: o['from-task'], mapIndex });
        if (!ti) {
          throw new TrainyardError('LINEAGE_TASK_NOT_FOUND', `run ${self.runId} of ${self.dagId} has no task instance ${o['from-task']}${mapIndex >= 0 ? `[${mapIndex}]` : ''}; check --from-task and --from-map-index`);
        }
        lineage.taskId = ti.task_id;
        lineage.mapIndex = Number(ti.map_index);
        lineage.tryNumber = Number(ti.try_number);
        // The made-by try ran elsewhere: this task's image is not its image.
        lineage.imageDigest = undefined;
        if (o['params-from-try']) params = { ...(ti.item ? JSON.parse(ti.item) : {}), ...(ti.params ? JSON.parse(ti.params) : {}) };
        if (o['metrics-from-try']) {
          const rows = await store.db
            .selectFrom('metric')
            .select(['name', 'value', 'step', 'at'])
            .where('dag_id', '=', self.dagId)
            .where('run_id', '=', self.runId)
            .where('task_id', '=', ti.task_id)
            .where('map_index', '=', Number(ti.map_index))
            .where('try_number', '=', Number(ti.try_number))
            .orderBy('at')
            .execute();
          // The last value of each metric (by step, then time).
          const last = new Map<string, { step: number; at: number; value: number }>();
          for (const r of rows) {
            const cur = { step: r.step === null ? -1 : Number(r.step), at: Number(r.at), value: Number(r.value) };
            const prev = last.get(r.name);
            if (!prev || cur.step > prev.step || (cur.step === prev.step && cur.at >= prev.at)) last.set(r.name, cur);
          }
          for (const [k, v] of last) metrics[k] = v.value;
        }
      } else if (o['metrics-from-try'] || o['params-from-try']) {
        throw new ArgError('--metrics-from-try and --params-from-try need --from-task');
      }
      Object.assign(params, jsonObject('--params-json', o['params-json']));
      for (const [k, v] of Object.entries(jsonObject('--metrics-json', o['metrics-json']))) metrics[k] = v as number;
      for (const m of o.metric ?? []) {
        const eq = m.indexOf('=');
        const value = Number(m.slice(eq + 1));
        if (eq < 1 || m.slice(eq + 1).trim() === '' || !Number.isFinite(value)) throw new ArgError(`--metric must be NAME=NUMBER, got '${m}'`);
        metrics[m.slice(0, eq)] = value;
      }
      const v = await register(
        store,
        { name: o.name, uri: toUri(o.uri), metrics, params, description: o.description, lineage, actor, aliases: o.alias },
        io.now(),
      );
      io.out(`registered ${v.name} version ${v.version} (${Object.entries(v.metrics).map(([k, x]) => `${k}=${x}`).join(', ') || 'no metrics'}) at ${v.uri}`);
      if (o['promote-to']) {
        promotion = await promote(store, { name: v.name, version: v.version, alias: o['promote-to'], gate, actor }, io.now());
        io.out(`${promotion.promoted ? 'promoted' : 'not promoted'} to ${promotion.alias}: ${promotion.reason}`);
      }
      result = {
        name: v.name,
        version: v.version,
        uri: v.uri,
        metrics: v.metrics,
        aliases: promotion?.promoted ? [...v.aliases, promotion.alias] : v.aliases,
        ...(promotion ? { promotion: promotionResult(promotion) } : {}),
      };
    } else {
      if (!o.version) throw new ArgError('promote needs --version (a number, latest, or an alias)');
      if (!o.alias || o.alias.length !== 1) throw new ArgError('promote needs exactly one --alias');
      const version = /^\d+$/.test(o.version) ? Number(o.version) : (await resolveVersion(store, `${o.name}@${o.version}`)).version;
      promotion = await promote(store, { name: o.name, version, alias: o.alias[0], gate, actor }, io.now());
      io.out(`${promotion.promoted ? 'promoted' : 'not promoted'}: ${o.name} version ${version} → ${promotion.alias}: ${promotion.reason}`);
      result = promotionResult(promotion);
    }

    if (env.TRAINYARD_RESULT_PATH) fs.writeFileSync(env.TRAINYARD_RESULT_PATH, JSON.stringify(result));
    else io.out(JSON.stringify(result));
    if (promotion && !promotion.promoted) return onReject === 'skip' ? SKIP_EXIT_CODE : onReject === 'fail' ? 1 : 0;
    return 0;
  } finally {
    await database.close();
  }
}

function promotionResult(p: PromotionResult): Record<string, unknown> {
  return {
    name: p.name,
    version: p.version,
    alias: p.alias,
    promoted: p.promoted,
    reason: p.reason,
    previous: p.previous,
    ...(p.decision
      ? { metric: p.decision.metric, candidate: p.decision.candidate_value, baseline: p.decision.baseline_value, baselineVersion: p.decision.baseline_version }
      : {}),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`registry-task: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
