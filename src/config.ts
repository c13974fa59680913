import fs from 'node:fs';
import path from 'node:path';
import { TrainyardError } from './core/errors.js';
import { parseDuration } from './core/retry.js';
import { DEFAULT_LOG_LEVEL, defaultLogFormat, LOG_FORMAT_ENV, LOG_FORMATS, LOG_LEVEL_ENV, LOG_LEVELS, type LogFormat, parseLogFormat, parseLogLevel, type LogLevel } from './observability/levels.js';
import { type PriceTable, parsePriceTable } from './ml/cost.js';
import { defaultArtifactsUri, parseArtifactUri } from './artifacts/uri.js';

/** Every setting, with the environment variable that sets it. */
export interface TrainyardConfig {
  /** State directory: trainyard.db, logs/, artifacts/. */
  readonly home: string;
  readonly dagsFolder: string;
  /** postgres:// URL, or a SQLite file. */
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  /** Most task instances queued or running at once, across all DAGs. */
  readonly parallelism: number;
  /** Time between SIGTERM and SIGKILL when a task is stopped. */
  readonly killGraceMs: number;
  /** Largest task result passed inline, in bytes of JSON; larger ones go to the artifact store. */
  readonly resultLimitBytes: number;
  /** Largest task result accepted at all (offloaded), in bytes of JSON. */
  readonly resultMaxBytes: number;
  /** The artifact store of offloaded results: `file:///abs/dir` or `s3://bucket/prefix` (default `$TRAINYARD_HOME/artifacts`). */
  readonly artifactStore: string;
  /** Retries that do not use a task's budget (eviction, preemption, lost), per task instance. */
  readonly freeRetryCap: number;
  /** Worker processes for inline TypeScript tasks. */
  readonly workerPoolSize: number;
  /** How long importing one DAG file may take. */
  readonly dagImportTimeoutMs: number;
  /** How often the DAG folder is checked for changes. */
  readonly dagScanIntervalMs: number;
  /** GPUs the local executor may hand out; unset means what `nvidia-smi -L` lists. */
  readonly gpus?: number;
  /** How long a stopping scheduler lets running tasks finish. */
  readonly shutdownGraceMs: number;
  /** A scheduler silent this long is dead; others take over its runs. */
  readonly schedulerStaleMs: number;
  /** The executor of tasks that name none: local or kubernetes. */
  readonly executor: 'local' | 'kubernetes';
  /** Kubernetes: the namespace of task pods, and a kubeconfig (default: the usual chain, or in-cluster). */
  readonly k8sNamespace: string;
  readonly kubeconfig?: string;
  readonly k8sDefaultImage?: string;
  /** Kubernetes machine presets by name (pod layers, see docs/kubernetes.md); triggers may pick one per task. */
  readonly k8sMachines?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** An OOM-killed task is retried with memory × 1.5, up to this many MiB. */
  readonly oomMemoryCapMb: number;
  /** Level of the server processes' JSON logs. */
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Prices per CPU-, memory- and GPU-hour; cost reports show money when set. */
  readonly prices?: PriceTable;
  /** Remote logging: where finished tries' logs are shipped (`s3://bucket/prefix` or `file:///abs/dir`); unset: off. */
  readonly remoteLogs?: string;
}

interface Setting {
  readonly key: keyof TrainyardConfig;
  readonly env: string;
  readonly parse: (raw: string) => unknown;
  readonly describe: string;
}

const positiveInt = (what: string) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number ≥ 1`);
  return n;
};
const nonNegativeInt = (what: string) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what} must be a whole number ≥ 0`);
  return n;
};
const text = (raw: string) => raw;
/** Checks an artifact-store URI without opening the store. */
const parseArtifactStore = (raw: string) => {
  parseArtifactUri(raw);
  return raw;
};

/** 256 MiB: an offloaded result is still read whole, as one JSON text, by the tasks that use it. */
export const DEFAULT_RESULT_MAX_BYTES = 256 * 1024 * 1024;
const duration = (raw: string) => parseDuration(/^\d+$/.test(raw) ? Number(raw) : raw);

export const SETTINGS: readonly Setting[] = [
  { key: 'home', env: 'TRAINYARD_HOME', parse: text, describe: 'state directory (default ./.trainyard)' },
  { key: 'dagsFolder', env: 'TRAINYARD_DAGS_FOLDER', parse: text, describe: 'DAG folder (default ./dags)' },
  { key: 'databaseUrl', env: 'TRAINYARD_DATABASE_URL', parse: text, describe: 'postgres:// URL or SQLite file (default $TRAINYARD_HOME/trainyard.db)' },
  { key: 'databasePoolSize', env: 'TRAINYARD_DATABASE_POOL_SIZE', parse: positiveInt('pool size'), describe: 'Postgres connections (default 10)' },
  { key: 'parallelism', env: 'TRAINYARD_PARALLELISM', parse: positiveInt('parallelism'), describe: 'task instances queued or running at once (default 32)' },
  { key: 'killGraceMs', env: 'TRAINYARD_KILL_GRACE', parse: duration, describe: 'SIGTERM to SIGKILL grace (default 10s)' },
  { key: 'resultLimitBytes', env: 'TRAINYARD_RESULT_LIMIT_BYTES', parse: positiveInt('result limit'), describe: 'largest task result passed inline, in bytes; larger ones go to the artifact store (default 65536)' },
  { key: 'resultMaxBytes', env: 'TRAINYARD_RESULT_MAX_BYTES', parse: positiveInt('result maximum'), describe: `largest task result accepted at all, in bytes (default ${DEFAULT_RESULT_MAX_BYTES})` },
  { key: 'artifactStore', env: 'TRAINYARD_ARTIFACT_STORE', parse: parseArtifactStore, describe: 'artifact store of large results: file:///absolute/dir or s3://bucket/prefix (default file://$TRAINYARD_HOME/artifacts)' },
  { key: 'freeRetryCap', env: 'TRAINYARD_FREE_RETRY_CAP', parse: nonNegativeInt('free retry cap'), describe: 'free retries per task instance (default 5)' },
  { key: 'workerPoolSize', env: 'TRAINYARD_WORKERS', parse: positiveInt('workers'), describe: 'inline-task worker processes (default 2)' },
  { key: 'dagImportTimeoutMs', env: 'TRAINYARD_DAG_IMPORT_TIMEOUT', parse: duration, describe: 'time allowed to import one DAG file (default 30s)' },
  { key: 'dagScanIntervalMs', env: 'TRAINYARD_DAG_SCAN_INTERVAL', parse: duration, describe: 'DAG folder change check interval (default 1s)' },
  { key: 'gpus', env: 'TRAINYARD_GPUS', parse: nonNegativeInt('gpus'), describe: 'GPUs for the local executor (default: nvidia-smi -L)' },
  { key: 'shutdownGraceMs', env: 'TRAINYARD_SHUTDOWN_GRACE', parse: duration, describe: 'time running tasks get to finish on shutdown (default 60s)' },
  { key: 'schedulerStaleMs', env: 'TRAINYARD_SCHEDULER_STALE', parse: duration, describe: 'heartbeat age after which a scheduler counts as dead (default 30s)' },
  {
    key: 'executor',
    env: 'TRAINYARD_EXECUTOR',
    parse: (raw) => {
      if (raw !== 'local' && raw !== 'kubernetes') throw new Error("must be 'local' or 'kubernetes'");
      return raw;
    },
    describe: 'default executor: local or kubernetes (default local)',
  },
  { key: 'k8sNamespace', env: 'TRAINYARD_K8S_NAMESPACE', parse: text, describe: 'namespace of task pods (default default)' },
  { key: 'kubeconfig', env: 'TRAINYARD_KUBECONFIG', parse: text, describe: 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)' },
  { key: 'k8sDefaultImage', env: 'TRAINYARD_K8S_DEFAULT_IMAGE', parse: text, describe: 'image of command tasks that name none' },
  { key: 'k8sMachines', env: 'TRAINYARD_K8S_MACHINES', parse: (raw) => parseMachines(raw, (f) => fs.readFileSync(f, 'utf8')), describe: 'Kubernetes machine presets: a JSON object of pod layers by name, or a JSON file' },
  { key: 'oomMemoryCapMb', env: 'TRAINYARD_OOM_MEMORY_CAP_MB', parse: positiveInt('OOM memory cap'), describe: 'largest memory, in MiB, an OOM retry may ask for (default 65536)' },
  { key: 'logLevel', env: LOG_LEVEL_ENV, parse: parseLogLevel, describe: `level of the server processes' JSON logs: ${LOG_LEVELS.join(', ')} (default ${DEFAULT_LOG_LEVEL})` },
  { key: 'logFormat', env: LOG_FORMAT_ENV, parse: parseLogFormat, describe: `format of the server processes' logs: ${LOG_FORMATS.join(', ')} (default text on a terminal, json otherwise)` },
  { key: 'prices', env: 'TRAINYARD_PRICES', parse: (raw) => parsePriceTable(raw, (f) => fs.readFileSync(f, 'utf8')), describe: 'price table for cost reports: JSON or a JSON file (default: none, hours only)' },
  { key: 'remoteLogs', env: 'TRAINYARD_REMOTE_LOGS', parse: parseArtifactStore, describe: 'remote log store: s3://bucket/prefix or file:///absolute/dir (default: off, logs stay local)' },
];

/** Machine presets from JSON text, or from the JSON file it names: an object of objects. */
export function parseMachines(raw: string, readFile: (path: string) => string): Record<string, Record<string, unknown>> {
  const text = raw.trim().startsWith('{') ? raw : readFile(raw);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON (${(e as Error).message}); give an object such as {"gpu-a100-1x": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw new Error('must be a JSON object of machine presets by name');
  for (const [name, preset] of Object.entries(value)) {
    if (!isObject(preset)) throw new Error(`machine preset '${name}' must be an object (a pod layer: resources, nodeSelector, tolerations…)`);
  }
  return value as Record<string, Record<string, unknown>>;
}

/** Builds the config from defaults, then environment variables, then explicit overrides. */
export function loadConfig(overrides: Partial<TrainyardConfig> = {}, env: NodeJS.ProcessEnv = process.env): TrainyardConfig {
  const fromEnv: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const raw = env[s.env];
    if (raw === undefined || raw === '') continue;
    try {
      fromEnv[s.key] = s.parse(raw);
    } catch (e) {
      throw new TrainyardError('INVALID_CONFIG', `invalid ${s.env}='${raw}': ${(e as Error).message} (${s.describe})`);
    }
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const home = path.resolve((defined.home as string) ?? (fromEnv.home as string) ?? '.trainyard');
  return {
    dagsFolder: path.resolve('dags'),
    databaseUrl: path.join(home, 'trainyard.db'),
    databasePoolSize: 10,
    parallelism: 32,
    killGraceMs: 10_000,
    resultLimitBytes: 64 * 1024,
    resultMaxBytes: DEFAULT_RESULT_MAX_BYTES,
    artifactStore: defaultArtifactsUri(home),
    freeRetryCap: 5,
    workerPoolSize: 2,
    dagImportTimeoutMs: 30_000,
    dagScanIntervalMs: 1_000,
    shutdownGraceMs: 60_000,
    schedulerStaleMs: 30_000,
    executor: 'local',
    k8sNamespace: 'default',
    oomMemoryCapMb: 65_536,
    logLevel: DEFAULT_LOG_LEVEL,
    logFormat: defaultLogFormat(),
    ...fromEnv,
    ...defined,
    home,
  } as TrainyardConfig;
}
