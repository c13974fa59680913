/**
 * The artifact store that takes results over the inline limit, as the local executor and its
 * workers see it. The storage clients load only when a store is first opened.
 */
import { resultKey } from '../artifacts/offload.js';
import type { S3Options } from '../artifacts/s3-store.js';
import type { ArtifactStore } from '../artifacts/types.js';
import { parseArtifactUri } from '../artifacts/uri.js';
import type { OffloadTarget } from './local/result-file.js';
import type { TryKey } from './types.js';

export interface ResultStoreSpec {
  /** Root URI of the store: `file:///abs/dir` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** The largest result accepted at all, offloaded or not, in bytes. */
  readonly maxBytes: number;
  /**
   * Endpoint and credentials of an `s3://` store. Worker processes do not inherit the
   * scheduler's environment, so these travel with each job that needs the store.
   */
  readonly s3?: S3Options;
}

/**
 * S3 settings from an environment, for an `s3://` URI only: the variables resolveS3Config
 * reads, picked here without loading the S3 client (resolveS3Config still checks them when
 * the store opens).
 */
export function s3OptionsFromEnv(uri: string, env: NodeJS.ProcessEnv = process.env): S3Options | undefined {
  if (parseArtifactUri(uri).scheme !== 's3') return undefined;
  const pick = (name: string): string | undefined => env[name] || undefined;
  const forcePathStyle = pick('TRAINYARD_S3_FORCE_PATH_STYLE');
  const opts = {
    endpoint: pick('TRAINYARD_S3_ENDPOINT'),
    region: pick('AWS_REGION') ?? pick('AWS_DEFAULT_REGION'),
    accessKeyId: pick('AWS_ACCESS_KEY_ID'),
    secretAccessKey: pick('AWS_SECRET_ACCESS_KEY'),
    sessionToken: pick('AWS_SESSION_TOKEN'),
    forcePathStyle: forcePathStyle === undefined ? undefined : /^(1|true|yes)$/i.test(forcePathStyle),
  };
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as S3Options;
}

/** Opens the store a spec names; S3 settings come only from the spec, never from this process's environment. */
export async function openResultStore(spec: ResultStoreSpec): Promise<ArtifactStore> {
  const { openArtifactStore } = await import('../artifacts/open.js');
  return openArtifactStore(spec.uri, { s3: spec.s3, env: {} });
}

/** Keeps one open store per spec, for a process that serves many tries. */
export class ResultStores {
  private readonly open = new Map<string, Promise<ArtifactStore>>();

  get(spec: ResultStoreSpec): Promise<ArtifactStore> {
    const id = JSON.stringify([spec.uri, spec.s3 ?? null]);
    let store = this.open.get(id);
    if (!store) {
      store = openResultStore(spec);
      store.catch(() => this.open.delete(id));
      this.open.set(id, store);
    }
    return store;
  }

  /** Where a try's oversized result goes. */
  target(spec: ResultStoreSpec, key: TryKey): OffloadTarget {
    return { store: () => this.get(spec), key: resultKey(key), maxBytes: spec.maxBytes };
  }

  async close(): Promise<void> {
    const stores = [...this.open.values()];
    this.open.clear();
    await Promise.all(stores.map((s) => s.then((x) => x.close(), () => undefined)));
  }
}
