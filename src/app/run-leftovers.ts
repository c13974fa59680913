/**
 * What a finished run leaves outside its rows, found from those rows before they are deleted,
 * and its removal (used by `trainyard db clean`): its local folders under $TRAINYARD_HOME
 * (logs, work, artifacts, checkpoints) and, in every object store its tries' rows name, the
 * objects under its run prefix (shipped logs, offloaded results).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactError } from '../artifacts/errors.js';
import { runPrefix, type TryKeyParts } from '../artifacts/keys.js';
import { isArtifactRef, resultKey } from '../artifacts/offload.js';
import { openArtifactStore } from '../artifacts/open.js';
import { logKey } from '../artifacts/remote-log.js';
import type { ArtifactStore } from '../artifacts/types.js';
import { TrainyardError } from '../core/errors.js';
import type { HomeLayout } from '../scheduler/paths.js';
import type { LeftoverCounts, RunFiles } from '../store/retention.js';
import type { Store } from '../store/store.js';

/** One run's leftovers, as found; counted by kind. */
export interface RunLeftovers extends LeftoverCounts {
  readonly dagId: string;
  readonly runId: string;
  /** Local folders that exist: the log folder first. */
  readonly dirs: readonly string[];
  /** Root URIs of the stores that hold its shipped logs and offloaded results. */
  readonly stores: readonly string[];
}

/** Store errors that say the whole store cannot be used: later runs do not try it again. */
const STORE_DOWN = new Set(['ARTIFACT_UNREACHABLE', 'ARTIFACT_AUTH', 'ARTIFACT_BUCKET_MISSING', 'ARTIFACT_CONFIG', 'ARTIFACT_URI_INVALID']);

/**
 * The root of the store that wrote `key` at `uri`, or undefined when `uri` is not that key's
 * (an object the run does not own, such as a cached instance's reference to an earlier run).
 */
export function storeRootOf(uri: string, key: string): string | undefined {
  if (uri.startsWith('s3://')) return uri.endsWith(`/${key}`) ? uri.slice(0, uri.length - key.length) : undefined;
  if (!uri.startsWith('file:')) return undefined;
  let file: string;
  try {
    file = fileURLToPath(uri);
  } catch {
    return undefined;
  }
  const tail = path.join(...key.split('/'));
  return file.endsWith(path.sep + tail) ? pathToFileURL(file.slice(0, file.length - tail.length)).href : undefined;
}

/** The key a try's row says it wrote, or undefined when its ids cannot form one. */
function ownKey(make: (k: TryKeyParts) => string, k: TryKeyParts): string | undefined {
  try {
    return make(k);
  } catch {
    return undefined;
  }
}

/** True when `dir` is `home/<top>/dag_id=…/run_id=…` and no id stepped out of it. */
function insideHome(home: string, dir: string): boolean {
  const rel = path.relative(home, dir).split(path.sep);
  return rel.length === 3 && !rel.includes('..');
}

/** Finds and removes runs' leftovers for `db clean`. Stores are opened once each; close() releases them. */
export class RunLeftoverFiles implements RunFiles<RunLeftovers> {
  private readonly opened = new Map<string, ArtifactStore>();
  /** Stores that could not be used, with the first error: not tried again in this clean. */
  private readonly down = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly layout: HomeLayout,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async find(dagId: string, runId: string): Promise<RunLeftovers> {
    const rows = await this.store.db
      .selectFrom('task_try')
      .select(['task_id', 'map_index', 'try_number', 'result', 'remote_log_uri'])
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where((eb) => eb.or([eb('remote_log_uri', 'is not', null), eb('result', 'like', '%"$artifact"%')]))
      .execute();
    const stores = new Set<string>();
    let remoteLogs = 0;
    let results = 0;
    for (const r of rows) {
      const k: TryKeyParts = { dagId, runId, taskId: r.task_id, mapIndex: Number(r.map_index), tryNumber: Number(r.try_number) };
      const logRoot = r.remote_log_uri ? this.rootFor(r.remote_log_uri, ownKey(logKey, k)) : undefined;
      if (logRoot) {
        stores.add(logRoot);
        remoteLogs += 1;
      }
      for (const uri of offloadedUris(r.result)) {
        const root = this.rootFor(uri, ownKey(resultKey, k));
        if (!root) continue;
        stores.add(root);
        results += 1;
      }
    }
    const logDir = this.layout.runLogDir(dagId, runId);
    const home = path.resolve(this.layout.home);
    const existing = (dirs: string[]) => dirs.filter((d) => insideHome(home, path.resolve(d)) && fs.existsSync(d));
    const logDirs = existing([logDir]);
    const folders = existing(this.layout.runFolders(dagId, runId));
    return { dagId, runId, dirs: [...logDirs, ...folders], stores: [...stores], logDirs: logDirs.length, folders: folders.length, remoteLogs, results };
  }

  private rootFor(uri: string, key: string | undefined): string | undefined {
    return key === undefined ? undefined : storeRootOf(uri, key);
  }

  /**
   * Removes a run's objects from each store, then its local folders. Throws, naming the store
   * (and, for S3, bucket and endpoint), at the first store that fails; folders then stay too.
   */
  async remove(found: RunLeftovers): Promise<void> {
    const prefix = runPrefix(found.dagId, found.runId);
    for (const root of found.stores) {
      const seen = this.down.get(root);
      if (seen !== undefined) throw this.failure(found, root, `not tried again after an earlier failure in this clean: ${seen}`);
      try {
        await this.storeAt(root).deletePrefix(prefix);
      } catch (e) {
        const message = (e as Error).message;
        if (e instanceof ArtifactError && STORE_DOWN.has(e.code)) this.down.set(root, message);
        throw this.failure(found, root, message);
      }
    }
    for (const dir of found.dirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch (e) {
        throw new TrainyardError('CLEAN_INCOMPLETE', `could not remove ${dir} of run ${found.dagId}/${found.runId}: ${(e as Error).message}`);
      }
    }
  }

  private failure(found: RunLeftovers, root: string, message: string): TrainyardError {
    return new TrainyardError('CLEAN_INCOMPLETE', `could not remove the objects of run ${found.dagId}/${found.runId} from the store ${root}: ${message}`);
  }

  private storeAt(root: string): ArtifactStore {
    let s = this.opened.get(root);
    if (!s) {
      s = openArtifactStore(root, { env: this.env });
      this.opened.set(root, s);
    }
    return s;
  }

  async close(): Promise<void> {
    for (const s of this.opened.values()) await s.close();
    this.opened.clear();
  }
}

/** The URIs of the `$artifact` references a stored result holds (a reference, or a list of them). */
function offloadedUris(result: string | null): string[] {
  if (result === null || !result.includes('$artifact')) return [];
  let value: unknown;
  try {
    value = JSON.parse(result);
  } catch {
    return [];
  }
  const refs = Array.isArray(value) ? value.filter(isArtifactRef) : isArtifactRef(value) ? [value] : [];
  return refs.map((r) => r.$artifact);
}
