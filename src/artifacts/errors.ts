import { TrainyardError } from '../core/errors.js';

/** Stable codes of artifact-store errors. */
export type ArtifactErrorCode =
  /** A key or prefix that could escape the store (`..`, absolute, empty segments...). */
  | 'ARTIFACT_KEY_INVALID'
  /** An artifact-store URI that is not `file:///abs/dir` or `s3://bucket/prefix`. */
  | 'ARTIFACT_URI_INVALID'
  /** Missing or contradictory configuration (for example an access key id without its secret). */
  | 'ARTIFACT_CONFIG'
  | 'ARTIFACT_NOT_FOUND'
  /** The object store rejected the credentials. The message names bucket and endpoint, never the secret. */
  | 'ARTIFACT_AUTH'
  | 'ARTIFACT_BUCKET_MISSING'
  /** The object store's endpoint could not be reached. */
  | 'ARTIFACT_UNREACHABLE'
  /** A location (artifacts, checkpoints) that cannot be written. */
  | 'ARTIFACT_NOT_WRITABLE'
  /** A `$artifact` reference that cannot be resolved. */
  | 'ARTIFACT_REF_INVALID'
  /** A task result that is not JSON. */
  | 'RESULT_NOT_JSON'
  /** Any other I/O failure. */
  | 'ARTIFACT_IO';

/** An artifact-store error. It never carries the underlying SDK error, which could hold request details. */
export class ArtifactError extends TrainyardError {
  constructor(
    override readonly code: ArtifactErrorCode,
    message: string,
    /** The store URI or object URI concerned, when there is one. */
    readonly uri?: string,
  ) {
    super(code, message);
    this.name = 'ArtifactError';
  }
}

/** The errno-style code of a Node system error, if any. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
