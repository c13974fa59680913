import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ArtifactError, errnoCode } from './errors.js';
import { FileArtifactStore } from './file-store.js';
import { makeDirs } from './make-dirs.js';
import { S3ArtifactStore, type S3Options } from './s3-store.js';
import { defaultArtifactsUri, parseArtifactUri } from './uri.js';
import type { ArtifactStore } from './types.js';

export { defaultArtifactsUri, parseArtifactUri, type ParsedArtifactUri } from './uri.js';

export interface OpenArtifactStoreOptions {
  readonly s3?: S3Options;
  /** Where S3 settings missing from `s3` are read from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Opens the store a URI names: `file:///abs/dir` (the default, `$TRAINYARD_HOME/artifacts`) or
 * `s3://bucket/prefix`, whose endpoint and credentials come from `opts.s3` or the environment
 * (TRAINYARD_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). Opening makes
 * no request; call assertWritable to check a location up front.
 */
export function openArtifactStore(uri: string = defaultArtifactsUri(), opts: OpenArtifactStoreOptions = {}): ArtifactStore {
  const p = parseArtifactUri(uri);
  if (p.scheme === 'file') return new FileArtifactStore(p.dir);
  return new S3ArtifactStore(p.bucket, p.prefix, opts.s3, opts.env);
}

export interface AssertWritableOptions extends OpenArtifactStoreOptions {
  /** What the location is, for the message: "checkpoint location", "artifacts location". */
  readonly label?: string;
}

/**
 * Checks that a location can be written: a local directory is created when missing and a probe
 * file is written and removed (this catches read-only file systems, which root's permission
 * checks do not); on S3 a probe object is put and deleted. Throws ARTIFACT_NOT_WRITABLE naming
 * the location, or for S3 the store's own errors (ARTIFACT_AUTH, ARTIFACT_BUCKET_MISSING,
 * ARTIFACT_UNREACHABLE), which name bucket and endpoint.
 */
export async function assertWritable(uri: string, opts: AssertWritableOptions = {}): Promise<void> {
  const label = opts.label ?? 'artifact location';
  const p = parseArtifactUri(uri);
  const probe = `.trainyard-write-probe-${randomBytes(6).toString('hex')}`;
  if (p.scheme === 'file') {
    const fail = (step: string, e: unknown): ArtifactError => {
      const code = errnoCode(e) ?? 'error';
      const hint =
        code === 'ENOTDIR' || code === 'EEXIST'
          ? 'a file stands where a directory should be'
          : code === 'EROFS'
            ? 'the file system is read-only'
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied'
              : e instanceof Error
                ? e.message
                : String(e);
      return new ArtifactError(
        'ARTIFACT_NOT_WRITABLE',
        `${label} ${p.dir} is not writable: cannot ${step} (${code}: ${hint}). Choose a directory this process can write to, or fix its permissions.`,
        uri,
      );
    };
    try {
      await makeDirs(p.dir);
    } catch (e) {
      throw fail('create the directory', e);
    }
    const file = path.join(p.dir, probe);
    try {
      await fs.writeFile(file, 'probe');
    } catch (e) {
      throw fail('write a file in it', e);
    } finally {
      await fs.rm(file, { force: true }).catch(() => undefined);
    }
    return;
  }
  const store = openArtifactStore(uri, opts);
  try {
    await store.put(probe, Buffer.from('probe'));
    await store.delete(probe);
  } catch (e) {
    if (!(e instanceof ArtifactError)) throw e;
    const code = e.code === 'ARTIFACT_IO' || e.code === 'ARTIFACT_NOT_FOUND' ? 'ARTIFACT_NOT_WRITABLE' : e.code;
    throw new ArtifactError(code, `${label} ${uri} is not writable: ${e.message}`, uri);
  } finally {
    await store.close();
  }
}
