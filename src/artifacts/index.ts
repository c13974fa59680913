/**
 * Artifact stores: one interface over a local directory (`file://`) and S3-compatible object
 * storage (`s3://`), per-try prefixes, result offloading and remote logs. The conformance suite
 * (conformance.ts) is for tests and is not exported here.
 */
export type { ArtifactStore, ArtifactEntry, ByteRange, ObjectStat, PutOptions, PutResult } from './types.js';
export { ArtifactError, type ArtifactErrorCode } from './errors.js';
export { validateKey, validatePrefix, joinKey, tryPrefix, instancePrefix, runPrefix, MAX_KEY_BYTES, type TryKeyParts, type InstanceKeyParts } from './keys.js';
export { FileArtifactStore } from './file-store.js';
export { S3ArtifactStore, resolveS3Config, validateBucketName, type S3Options, type ResolvedS3Config } from './s3-store.js';
export { openArtifactStore, parseArtifactUri, defaultArtifactsUri, assertWritable, type OpenArtifactStoreOptions, type AssertWritableOptions, type ParsedArtifactUri } from './open.js';
export { offloadIfLarge, resolveResult, isArtifactRef, holdsArtifactRef, resultKey, type ArtifactRef, type OffloadedResult } from './offload.js';
export { shipLog, readLog, logKey, type RemoteLogChunk } from './remote-log.js';
