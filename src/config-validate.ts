/**
 * Startup checks of the TRAINYARD_* environment: every invalid value is reported with its
 * key, its value, the values allowed and the variable that set it; unknown TRAINYARD_*
 * variables are warned about with a "did you mean".
 */
import { SETTINGS, type TrainyardConfig } from './config.js';
import { TrainyardError } from './core/errors.js';
import { LOG_LEVEL_ENV, LOG_LEVELS } from './observability/levels.js';

export interface SettingCheck {
  /** The config key (`parallelism`), or a name for settings read outside config.ts. */
  readonly key: string;
  readonly env: string;
  /** The values allowed, in words. */
  readonly allowed: string;
  /** Parses the raw value; throws when it is not allowed. */
  readonly parse: (raw: string) => unknown;
}

const DURATION = 'a duration: milliseconds as a whole number, or a string such as 500ms, 30s, 5m, 1h30m';
const ALLOWED: Record<string, string> = {
  TRAINYARD_HOME: 'a directory path',
  TRAINYARD_DAGS_FOLDER: 'a directory path',
  TRAINYARD_DATABASE_URL: 'a postgres:// or postgresql:// URL, or a SQLite file path',
  TRAINYARD_DATABASE_POOL_SIZE: 'a whole number ≥ 1',
  TRAINYARD_PARALLELISM: 'a whole number ≥ 1',
  TRAINYARD_KILL_GRACE: DURATION,
  TRAINYARD_RESULT_LIMIT_BYTES: 'a whole number ≥ 1 (bytes)',
  TRAINYARD_RESULT_MAX_BYTES: 'a whole number ≥ 1 (bytes)',
  TRAINYARD_ARTIFACT_STORE: 'file:///absolute/dir or s3://bucket/prefix',
  TRAINYARD_FREE_RETRY_CAP: 'a whole number ≥ 0',
  TRAINYARD_WORKERS: 'a whole number ≥ 1',
  TRAINYARD_DAG_IMPORT_TIMEOUT: DURATION,
  TRAINYARD_DAG_SCAN_INTERVAL: DURATION,
  TRAINYARD_GPUS: 'a whole number ≥ 0',
  TRAINYARD_SHUTDOWN_GRACE: DURATION,
  TRAINYARD_REMOTE_LOGS: 'an s3://bucket/prefix or file:///absolute/dir URI',
  [LOG_LEVEL_ENV]: LOG_LEVELS.join(', '),
};

const oneOf =
  (values: readonly string[]) =>
  (raw: string): string => {
    const v = raw.trim().toLowerCase();
    if (!values.includes(v)) throw new Error(`not one of ${values.join(', ')}`);
    return v;
  };
const port = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('not a port number');
  return n;
};
const bool = oneOf(['true', 'false', '1', '0']);

/** Settings read outside `config.ts` (API server, logging, metrics, secrets, S3). */
export const EXTRA_SETTINGS: readonly SettingCheck[] = [
  { key: 'port', env: 'TRAINYARD_PORT', allowed: 'a port number, 0–65535', parse: port },
  { key: 'host', env: 'TRAINYARD_HOST', allowed: 'an address to bind, e.g. 127.0.0.1 or 0.0.0.0', parse: (r) => r },
  { key: 'auth', env: 'TRAINYARD_AUTH', allowed: 'password, none', parse: oneOf(['password', 'none']) },
  { key: 'metricsPort', env: 'TRAINYARD_METRICS_PORT', allowed: 'a port number, 0–65535', parse: port },
  { key: 'secretsFile', env: 'TRAINYARD_SECRETS_FILE', allowed: 'a path to a JSON or .env file', parse: (r) => r },
  { key: 's3Endpoint', env: 'TRAINYARD_S3_ENDPOINT', allowed: 'an http:// or https:// URL', parse: (r) => {
    if (!/^https?:\/\/[^/\s]+/.test(r)) throw new Error('not an http(s) URL');
    return r;
  } },
  { key: 's3ForcePathStyle', env: 'TRAINYARD_S3_FORCE_PATH_STYLE', allowed: 'true, false, 1, 0', parse: bool },
];

/** Every check: config.ts's settings, then the extra ones. */
export function settingChecks(): SettingCheck[] {
  const fromConfig = SETTINGS.map((s) => ({ key: s.key as string, env: s.env, allowed: ALLOWED[s.env] ?? s.describe, parse: s.parse }));
  return [...fromConfig, ...EXTRA_SETTINGS];
}

/**
 * TRAINYARD_* names that are not settings but are legitimately set: the task contract (seen
 * by tasks, and by a Trainyard process started inside one), and the test and build scripts.
 */
export const OTHER_KNOWN_ENV: readonly string[] = [
  'TRAINYARD_DAG_ID', 'TRAINYARD_RUN_ID', 'TRAINYARD_TASK_ID', 'TRAINYARD_MAP_INDEX', 'TRAINYARD_TRY_NUMBER',
  'TRAINYARD_LOGICAL_DATE', 'TRAINYARD_DS', 'TRAINYARD_PARAMS', 'TRAINYARD_ITEM', 'TRAINYARD_RESULT_PATH',
  'TRAINYARD_ARTIFACTS_URI', 'TRAINYARD_ARTIFACTS_DIR', 'TRAINYARD_RUN_ARTIFACTS_DIR', 'TRAINYARD_CHECKPOINT_DIR',
  'TRAINYARD_RESUME', 'TRAINYARD_CACHE', 'TRAINYARD_BUILD_NICE', 'TRAINYARD_SKIP_K8S', 'TRAINYARD_CLUSTER_DIR',
  'TRAINYARD_HELM_VERSION', 'TRAINYARD_HELM_BIN', 'TRAINYARD_KEEP_STATE', 'TRAINYARD_UP_TIMEOUT',
];
/** Prefixes of families of variables (secrets, test servers). */
export const KNOWN_ENV_PREFIXES: readonly string[] = [
  'TRAINYARD_SECRET_', 'TRAINYARD_PG_', 'TRAINYARD_S3_', 'TRAINYARD_SMTP_', 'TRAINYARD_ETCD', 'TRAINYARD_APISERVER_',
  'TRAINYARD_SCHEDULER_PORT', 'TRAINYARD_KWOK_', 'TRAINYARD_CPU_NODE', 'TRAINYARD_GPU_NODE', 'TRAINYARD_NODE_',
  'TRAINYARD_POD_CIDR', 'TRAINYARD_FIXTURE_', 'TRAINYARD_APT_', 'TRAINYARD_AIOSMTPD_',
];

/** Damerau–Levenshtein distance (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest known name, when it is close enough to be a typo. */
export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const strip = (s: string) => s.replace(/^TRAINYARD_/, '');
  const n = strip(name);
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(n, strip(c));
    if (!best || d < best.d) best = { c, d };
  }
  if (!best) return undefined;
  const limit = Math.max(2, Math.floor(n.length / 3));
  return best.d <= limit ? best.c : undefined;
}

export interface ConfigProblem {
  readonly key: string;
  readonly env: string;
  readonly value: string;
  readonly allowed: string;
  readonly message: string;
}

export interface ConfigReport {
  readonly errors: readonly ConfigProblem[];
  readonly warnings: readonly string[];
}

/** `invalid value for parallelism: TRAINYARD_PARALLELISM='lots' (must be …); allowed: a whole number ≥ 1`. */
export function describeInvalid(check: Pick<SettingCheck, 'key' | 'env' | 'allowed'>, value: string, why?: string): string {
  return `invalid value for ${check.key}: ${check.env}='${value}'${why ? ` (${why})` : ''}; allowed: ${check.allowed}`;
}

/** Checks every TRAINYARD_* variable; reports all problems at once. */
export function checkConfigEnv(env: NodeJS.ProcessEnv = process.env): ConfigReport {
  const checks = settingChecks();
  const errors: ConfigProblem[] = [];
  for (const c of checks) {
    const raw = env[c.env];
    if (raw === undefined || raw === '') continue;
    try {
      c.parse(raw);
    } catch (e) {
      const why = (e as Error).message;
      errors.push({ key: c.key, env: c.env, value: raw, allowed: c.allowed, message: describeInvalid(c, raw, why) });
    }
  }
  const known = new Set([...checks.map((c) => c.env), ...OTHER_KNOWN_ENV]);
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('TRAINYARD_') || known.has(name) || KNOWN_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    const guess = didYouMean(name, checks.map((c) => c.env));
    warnings.push(`unknown setting ${name} is ignored${guess ? `; did you mean ${guess}?` : ''}`);
  }
  return { errors, warnings };
}

/**
 * For process start: warns about unknown variables, and throws INVALID_CONFIG listing every
 * invalid value. Call it before `loadConfig`.
 */
export function assertValidConfigEnv(env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = (l) => process.stderr.write(`warning: ${l}\n`)): void {
  const { errors, warnings } = checkConfigEnv(env);
  for (const w of warnings) warn(w);
  if (errors.length === 1) throw new TrainyardError('INVALID_CONFIG', errors[0].message);
  if (errors.length > 1) throw new TrainyardError('INVALID_CONFIG', `${errors.length} invalid settings:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`);
}

/** The key of a TrainyardConfig field's env var, for messages elsewhere. */
export function envOf(key: keyof TrainyardConfig): string | undefined {
  return SETTINGS.find((s) => s.key === key)?.env;
}
