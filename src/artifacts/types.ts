import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Stored as the object's Content-Type on S3; the file store ignores it. */
  readonly contentType?: string;
}

export interface PutResult {
  readonly key: string;
  readonly uri: string;
  readonly bytes: number;
}

export interface ArtifactEntry {
  /** The key, relative to the store's root. */
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface ObjectStat {
  readonly size: number;
  readonly lastModified: Date;
}

export interface ByteRange {
  /** First byte to read, from 0. */
  readonly offset: number;
  /** Bytes to read at most; fewer come back at the end of the object. */
  readonly length: number;
}

/**
 * An object store rooted at a URI: `file:///abs/dir` or `s3://bucket/prefix`. Keys are relative
 * paths (`a/b/c.bin`); a key that could step out of the root (`..`, absolute) is refused with
 * ARTIFACT_KEY_INVALID. Objects are written whole: a reader never sees half an object.
 */
export interface ArtifactStore {
  /** The root URI, ending in "/" (`file:///…/artifacts/`, `s3://bucket/prefix/`). */
  readonly rootUri: string;
  /** Writes an object, replacing any object of the same key. A stream is written without being held in memory. */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<PutResult>;
  /** The whole object. ARTIFACT_NOT_FOUND when it does not exist. */
  get(key: string): Promise<Buffer>;
  /** The object as a stream. ARTIFACT_NOT_FOUND (before any data) when it does not exist. */
  getStream(key: string): Promise<Readable>;
  /** Part of an object; empty past its end. ARTIFACT_NOT_FOUND when it does not exist. */
  getRange(key: string, range: ByteRange): Promise<Buffer>;
  /** Size and time of an object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectStat | undefined>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix` (a string match, as on S3), sorted by key. */
  list(prefix: string): Promise<ArtifactEntry[]>;
  /** Deletes an object. Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under a non-empty prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** The URI of a key (`file:///…/key`, `s3://bucket/prefix/key`). */
  uriOf(key: string): string;
  /** The key of a URI inside this store, or undefined when the URI is elsewhere. The inverse of uriOf. */
  keyOf(uri: string): string | undefined;
  /** Releases connections. The store is unusable afterwards. */
  close(): Promise<void>;
}
