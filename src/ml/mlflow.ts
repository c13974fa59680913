/**
 * The MLflow bridge: mirrors a try's params, metrics (with their steps) and the registry's
 * model versions and aliases to an MLflow tracking server, over MLflow's REST API (2.x,
 * `/api/2.0/mlflow/…`). No MLflow client library: plain `fetch`.
 *
 * - One MLflow experiment per DAG (named by `experimentName`, default the DAG id).
 * - One MLflow run per try, tagged `trainyard.dag_id`, `.run_id`, `.task_id`, `.map_index`,
 *   `.try_number` and `trainyard.try_key` (a hash of the five, for lookups). Mirroring a try
 *   again finds that run and adds only the metric points it does not have yet, so calling it
 *   after every batch of points, or once more after a crash, never duplicates anything.
 * - A registry version becomes an MLflow model version of the same registered model, tagged
 *   `trainyard.version`; aliases are copied (MLflow ≥ 2.3 has aliases).
 *
 * Configure with `mlflowFromEnv()`: MLFLOW_TRACKING_URI (http:// or https://), and
 * MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD for servers that need them.
 */
import crypto from 'node:crypto';
import { TrainyardError } from '../core/errors.js';

export type Fetch = typeof fetch;

export interface MlflowOptions {
  /** The tracking server, e.g. http://127.0.0.1:5000. */
  readonly trackingUri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). */
  readonly token?: string;
  /** Basic auth (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD). */
  readonly username?: string;
  readonly password?: string;
  /** Per-request timeout (default 30 s). */
  readonly timeoutMs?: number;
  readonly fetch?: Fetch;
}

/** An error MLflow answered with: `errorCode` is MLflow's (RESOURCE_DOES_NOT_EXIST, …). */
export class MlflowError extends TrainyardError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
  ) {
    super('MLFLOW_REQUEST_FAILED', message);
    this.name = 'MlflowError';
  }
}

/** The bridge's settings from the environment; undefined when MLFLOW_TRACKING_URI is unset. */
export function mlflowFromEnv(env: NodeJS.ProcessEnv = process.env): MlflowOptions | undefined {
  const uri = env.TRAINYARD_MLFLOW_TRACKING_URI || env.MLFLOW_TRACKING_URI;
  if (!uri) return undefined;
  if (!/^https?:\/\//.test(uri)) {
    throw new TrainyardError('INVALID_CONFIG', `MLFLOW_TRACKING_URI must be an http:// or https:// URL of a tracking server, got '${uri}'`);
  }
  return {
    trackingUri: uri,
    token: env.MLFLOW_TRACKING_TOKEN || undefined,
    username: env.MLFLOW_TRACKING_USERNAME || undefined,
    password: env.MLFLOW_TRACKING_PASSWORD || undefined,
  };
}

interface Tag {
  readonly key: string;
  readonly value: string;
}
interface MetricPoint {
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
  readonly step: number;
}

export interface MlflowRunInfo {
  readonly run_id: string;
  readonly experiment_id: string;
  readonly status: string;
  readonly start_time?: number | string;
  readonly end_time?: number | string;
}

export interface MlflowModelVersion {
  readonly name: string;
  readonly version: string;
  readonly source?: string;
  readonly run_id?: string;
  readonly tags?: readonly Tag[];
  readonly aliases?: readonly string[];
}

// MLflow's limits per log-batch request.
const BATCH_METRICS = 1000;
const BATCH_PARAMS = 100;
const BATCH_TAGS = 100;
const PARAM_VALUE_MAX = 6000;

/** A thin client of MLflow's REST API: the calls the bridge needs. */
export class MlflowClient {
  private readonly base: string;
  private readonly fetchFn: Fetch;

  constructor(readonly opts: MlflowOptions) {
    if (!/^https?:\/\//.test(opts.trackingUri)) throw new TrainyardError('INVALID_CONFIG', `the MLflow tracking URI must be http:// or https://, got '${opts.trackingUri}'`);
    this.base = opts.trackingUri.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    else if (this.opts.username !== undefined) h.authorization = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64')}`;
    return h;
  }

  /** One API call. Errors name the endpoint and MLflow's error code, never the credentials. */
  async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', endpoint: string, body?: Record<string, unknown>): Promise<T> {
    let url = `${this.base}/api/2.0/mlflow/${endpoint}`;
    let payload: string | undefined;
    if (body && method === 'GET') {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) if (v !== undefined) q.set(k, String(v));
      url += `?${q}`;
    } else if (body) payload = JSON.stringify(body);
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers: this.headers(), body: payload, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (e) {
      throw new MlflowError(`MLflow at ${this.base} did not answer ${method} ${endpoint}: ${(e as Error).message}. Check that the tracking server is running and MLFLOW_TRACKING_URI is right`, 0, undefined);
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      if (res.ok) throw new MlflowError(`MLflow at ${this.base} answered ${method} ${endpoint} with something other than JSON`, res.status, undefined);
    }
    if (!res.ok) {
      const code = typeof json.error_code === 'string' ? json.error_code : undefined;
      const msg = typeof json.message === 'string' ? json.message : text.slice(0, 300);
      const hint = res.status === 401 || res.status === 403 ? ' (check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)' : '';
      throw new MlflowError(`MLflow ${method} ${endpoint} failed with HTTP ${res.status}${code ? ` ${code}` : ''}: ${msg}${hint}`, res.status, code);
    }
    return json as T;
  }

  // ---- experiments and runs --------------------------------------------------------------

  /** The experiment's id, created when missing. */
  async experimentId(name: string): Promise<string> {
    try {
      const r = await this.call<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return r.experiment.experiment_id;
    } catch (e) {
      if (!(e instanceof MlflowError) || e.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw e;
    }
    try {
      const r = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name, tags: [{ key: 'trainyard.source', value: 'trainyard' }] });
      return r.experiment_id;
    } catch (e) {
      // Created by someone else in between.
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const r = await this.call<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name });
        return r.experiment.experiment_id;
      }
      throw e;
    }
  }

  async createRun(experimentId: string, runName: string, startTime: number, tags: readonly Tag[]): Promise<MlflowRunInfo> {
    const r = await this.call<{ run: { info: MlflowRunInfo } }>('POST', 'runs/create', { experiment_id: experimentId, run_name: runName, start_time: startTime, tags });
    return r.run.info;
  }

  /** Runs of an experiment with a tag of the given value. */
  async findRunsByTag(experimentId: string, key: string, value: string): Promise<MlflowRunInfo[]> {
    if (!/^[A-Za-z0-9_.-]+$/.test(key) || !/^[A-Za-z0-9_.:-]*$/.test(value)) throw new TrainyardError('MLFLOW_BAD_FILTER', `tag ${key}=${value} cannot be used in an MLflow filter`);
    const r = await this.call<{ runs?: { info: MlflowRunInfo }[] }>('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.\`${key}\` = '${value}'`,
      max_results: 10,
    });
    return (r.runs ?? []).map((x) => x.info);
  }

  async getRun(runId: string): Promise<{ info: MlflowRunInfo; data: { metrics?: { key: string; value: number; step?: number | string; timestamp?: number | string }[]; params?: Tag[]; tags?: Tag[] } }> {
    const r = await this.call<{ run: { info: MlflowRunInfo; data: Record<string, never> } }>('GET', 'runs/get', { run_id: runId });
    return r.run;
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const out: MetricPoint[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ metrics?: { key: string; value: number; step?: number | string; timestamp: number | string }[]; next_page_token?: string }>('GET', 'metrics/get-history', {
        run_id: runId,
        metric_key: key,
        max_results: 25000,
        page_token: token,
      });
      for (const m of r.metrics ?? []) out.push({ key: m.key, value: Number(m.value), step: Number(m.step ?? 0), timestamp: Number(m.timestamp) });
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  /** Logs params, metrics and tags, split into batches within MLflow's limits. */
  async logBatch(runId: string, data: { params?: readonly Tag[]; metrics?: readonly MetricPoint[]; tags?: readonly Tag[] }): Promise<void> {
    const params = [...(data.params ?? [])];
    const metrics = [...(data.metrics ?? [])];
    const tags = [...(data.tags ?? [])];
    while (params.length || metrics.length || tags.length) {
      const p = params.splice(0, BATCH_PARAMS);
      const t = tags.splice(0, BATCH_TAGS);
      const m = metrics.splice(0, BATCH_METRICS - p.length - t.length);
      await this.call('POST', 'runs/log-batch', { run_id: runId, params: p, metrics: m, tags: t });
    }
  }

  async updateRun(runId: string, status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED', endTime?: number): Promise<void> {
    await this.call('POST', 'runs/update', { run_id: runId, status, end_time: endTime });
  }

  // ---- model registry --------------------------------------------------------------------

  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    try {
      await this.call('POST', 'registered-models/create', { name, description, tags: [{ key: 'trainyard.source', value: 'trainyard' }] });
    } catch (e) {
      if (!(e instanceof MlflowError && e.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw e;
    }
  }

  async searchModelVersions(name: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let token: string | undefined;
    do {
      const r = await this.call<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>('GET', 'model-versions/search', {
        filter: `name='${name}'`,
        max_results: 1000,
        page_token: token,
      });
      out.push(...(r.model_versions ?? []));
      token = r.next_page_token || undefined;
    } while (token);
    return out;
  }

  async createModelVersion(name: string, source: string, opts: { runId?: string; tags?: readonly Tag[]; description?: string }): Promise<MlflowModelVersion> {
    const r = await this.call<{ model_version: MlflowModelVersion }>('POST', 'model-versions/create', {
      name,
      source,
      run_id: opts.runId,
      tags: opts.tags,
      description: opts.description,
    });
    return r.model_version;
  }

  async getModelVersion(name: string, version: string): Promise<MlflowModelVersion> {
    const r = await this.call<{ model_version: MlflowModelVersion }>('GET', 'model-versions/get', { name, version });
    return r.model_version;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias });
  }

  async getByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    try {
      const r = await this.call<{ model_version: MlflowModelVersion }>('GET', 'registered-models/alias', { name, alias });
      return r.model_version;
    } catch (e) {
      if (e instanceof MlflowError && (e.errorCode === 'RESOURCE_DOES_NOT_EXIST' || e.errorCode === 'INVALID_PARAMETER_VALUE')) return undefined;
      throw e;
    }
  }
}

// ---- mirroring ----------------------------------------------------------------------------

/** A try to mirror: its identity, times, outcome, params and metric points. */
export interface TryToMirror {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly mapIndex: number;
  readonly tryNumber: number;
  /** Epoch ms. */
  readonly startTime: number;
  /** Epoch ms; undefined while it runs. */
  readonly endTime?: number;
  /** 'running', 'success', 'failed', 'skipped', 'early_stopped', 'cancelled', … */
  readonly state: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly metrics?: readonly { readonly name: string; readonly value: number; readonly step: number | null; readonly at: number }[];
  readonly tags?: Readonly<Record<string, string>>;
}

export interface MirrorOptions {
  /** The experiment for a DAG; default the DAG id. */
  readonly experimentName?: (dagId: string) => string;
}

export interface MirroredTry {
  readonly experimentId: string;
  readonly mlflowRunId: string;
  /** Metric points sent by this call (those MLflow already had are skipped). */
  readonly metricsLogged: number;
  readonly paramsLogged: number;
  readonly created: boolean;
}

/** A stable key of a try, safe in MLflow filters. */
export function tryKey(t: Pick<TryToMirror, 'dagId' | 'runId' | 'taskId' | 'mapIndex' | 'tryNumber'>): string {
  return crypto.createHash('sha256').update(JSON.stringify([t.dagId, t.runId, t.taskId, t.mapIndex, t.tryNumber])).digest('hex').slice(0, 32);
}

function mlflowStatus(state: string): 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' {
  switch (state) {
    case 'running':
    case 'queued':
      return 'RUNNING';
    case 'success':
    case 'skipped':
      return 'FINISHED';
    case 'early_stopped':
    case 'cancelled':
    case 'killed':
      return 'KILLED';
    default:
      return 'FAILED';
  }
}

function paramValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > PARAM_VALUE_MAX ? `${s.slice(0, PARAM_VALUE_MAX - 1)}…` : s;
}

/**
 * Mirrors one try to an MLflow run: creates (or finds) the run, logs params once and the
 * metric points MLflow does not have yet, and sets its status. Idempotent.
 */
export async function mirrorTry(client: MlflowClient, t: TryToMirror, opts: MirrorOptions = {}): Promise<MirroredTry> {
  const experimentId = await client.experimentId(opts.experimentName?.(t.dagId) ?? t.dagId);
  const key = tryKey(t);
  const existing = (await client.findRunsByTag(experimentId, 'trainyard.try_key', key))[0];
  const identity: Tag[] = [
    { key: 'trainyard.dag_id', value: t.dagId },
    { key: 'trainyard.run_id', value: t.runId },
    { key: 'trainyard.task_id', value: t.taskId },
    { key: 'trainyard.map_index', value: String(t.mapIndex) },
    { key: 'trainyard.try_number', value: String(t.tryNumber) },
    { key: 'trainyard.try_key', value: key },
    ...Object.entries(t.tags ?? {}).map(([k, v]) => ({ key: k, value: v })),
  ];
  const runName = `${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''} try ${t.tryNumber} (${t.runId})`;
  const run = existing ?? (await client.createRun(experimentId, runName, t.startTime, identity));
  const mlflowRunId = run.run_id;

  // Params are write-once in MLflow: send only those it lacks.
  let known = new Set<string>();
  let knownMetrics = new Set<string>();
  if (existing) {
    const got = await client.getRun(mlflowRunId);
    known = new Set((got.data.params ?? []).map((p) => p.key));
    knownMetrics = new Set((got.data.metrics ?? []).map((m) => m.key));
  }
  const params = Object.entries(t.params ?? {})
    .filter(([k]) => !known.has(k))
    .map(([k, v]) => ({ key: k, value: paramValue(v) }));

  let points: MetricPoint[] = (t.metrics ?? [])
    .filter((m) => Number.isFinite(m.value))
    .map((m) => ({ key: m.name, value: m.value, timestamp: Math.round(m.at), step: m.step ?? 0 }));
  if (existing && points.length) {
    const seen = new Set<string>();
    for (const name of new Set(points.map((p) => p.key))) {
      if (!knownMetrics.has(name)) continue;
      for (const h of await client.metricHistory(mlflowRunId, name)) seen.add(`${h.key}\u0000${h.step}\u0000${h.timestamp}`);
    }
    points = points.filter((p) => !seen.has(`${p.key}\u0000${p.step}\u0000${p.timestamp}`));
  }
  await client.logBatch(mlflowRunId, { params, metrics: points });
  const status = mlflowStatus(t.state);
  if (status !== 'RUNNING') await client.updateRun(mlflowRunId, status, t.endTime);
  return { experimentId, mlflowRunId, metricsLogged: points.length, paramsLogged: params.length, created: !existing };
}

/** A registry version to mirror (the shape `registry.ts` returns). */
export interface VersionToMirror {
  readonly name: string;
  readonly version: number;
  readonly uri: string;
  readonly description?: string | null;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly aliases?: readonly string[];
  readonly lineage?: { readonly dagId?: string; readonly runId?: string; readonly taskId?: string; readonly mapIndex?: number; readonly tryNumber?: number };
}

export interface MirroredVersion {
  readonly name: string;
  /** MLflow's version number for it (MLflow numbers versions itself). */
  readonly mlflowVersion: string;
  readonly created: boolean;
  readonly aliases: readonly string[];
}

/**
 * Mirrors a registry version to MLflow's model registry: the registered model (created when
 * missing), a model version tagged `trainyard.version` (found again on a second call), linked
 * to the MLflow run of the try that made it when `mlflowRunId` is given, and its aliases.
 */
export async function mirrorModelVersion(client: MlflowClient, v: VersionToMirror, opts: { mlflowRunId?: string } = {}): Promise<MirroredVersion> {
  await client.ensureRegisteredModel(v.name);
  const tag = String(v.version);
  const found = (await client.searchModelVersions(v.name)).find((mv) => (mv.tags ?? []).some((t) => t.key === 'trainyard.version' && t.value === tag));
  const tags: Tag[] = [
    { key: 'trainyard.version', value: tag },
    { key: 'trainyard.uri', value: v.uri },
    ...Object.entries(v.metrics ?? {}).map(([k, x]) => ({ key: `trainyard.metric.${k}`, value: String(x) })),
    ...Object.entries(v.lineage ?? {})
      .filter(([, x]) => x !== undefined && x !== null)
      .map(([k, x]) => ({ key: `trainyard.lineage.${k}`, value: String(x) })),
  ];
  const mv = found ?? (await client.createModelVersion(v.name, mlflowSource(v), { runId: opts.mlflowRunId, tags, description: v.description ?? undefined }));
  for (const alias of v.aliases ?? []) await client.setAlias(v.name, alias, mv.version);
  return { name: v.name, mlflowVersion: mv.version, created: !found, aliases: [...(v.aliases ?? [])] };
}

/**
 * The source MLflow records for a version. MLflow refuses a local path (`file://…`, `/…`) as a
 * model version's source unless it lies inside the artifact directory of the linked MLflow run,
 * and a Trainyard model lives in Trainyard's artifact store instead. So a local URI is recorded
 * as `trainyard://models/<name>/<version>` (the real URI is in the `trainyard.uri` tag);
 * object-store URIs (`s3://…`, `gs://…`, `https://…`) are recorded as they are.
 */
export function mlflowSource(v: Pick<VersionToMirror, 'name' | 'version' | 'uri'>): string {
  const local = /^file:/i.test(v.uri) || !/^[a-z][a-z0-9+.-]*:/i.test(v.uri);
  return local ? `trainyard://models/${encodeURIComponent(v.name)}/${v.version}` : v.uri;
}

/** Moves (or removes, with version null) an alias in MLflow to the version mirrored from a registry version. */
export async function mirrorAlias(client: MlflowClient, name: string, alias: string, registryVersion: number | null): Promise<void> {
  if (registryVersion === null) {
    if (await client.getByAlias(name, alias)) await client.deleteAlias(name, alias);
    return;
  }
  const mv = (await client.searchModelVersions(name)).find((x) => (x.tags ?? []).some((t) => t.key === 'trainyard.version' && t.value === String(registryVersion)));
  if (!mv) throw new TrainyardError('MLFLOW_VERSION_NOT_MIRRORED', `version ${registryVersion} of model '${name}' has not been mirrored to MLflow yet; mirror it first (mirrorModelVersion)`);
  await client.setAlias(name, alias, mv.version);
}
