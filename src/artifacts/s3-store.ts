import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { ArtifactError, errnoCode } from './errors.js';
import { checkRange } from './file-store.js';
import { validateKey, validatePrefix } from './keys.js';
import type { ArtifactEntry, ArtifactStore, ByteRange, ObjectStat, PutOptions, PutResult } from './types.js';

/** Options of the S3 backend. Anything not given comes from the environment (see resolveS3Config). */
export interface S3Options {
  /** `http://127.0.0.1:9000`; absent for AWS itself. Env: TRAINYARD_S3_ENDPOINT. */
  readonly endpoint?: string;
  /** Env: AWS_REGION, then AWS_DEFAULT_REGION; default us-east-1. */
  readonly region?: string;
  /** Env: AWS_ACCESS_KEY_ID. Without a key pair anywhere, the SDK's default chain applies (instance roles, web identity). */
  readonly accessKeyId?: string;
  /** Env: AWS_SECRET_ACCESS_KEY. Never appears in an error message. */
  readonly secretAccessKey?: string;
  /** Env: AWS_SESSION_TOKEN. */
  readonly sessionToken?: string;
  /** Bucket in the path rather than the host name. Env: TRAINYARD_S3_FORCE_PATH_STYLE; default true when an endpoint is set. */
  readonly forcePathStyle?: boolean;
  /** Attempts per request, retries included. Default 3. */
  readonly maxAttempts?: number;
  /** Part size of streamed uploads; at least 5 MiB (S3's minimum). Default 8 MiB. */
  readonly partSizeBytes?: number;
  /** Default 5000. */
  readonly connectionTimeoutMs?: number;
}

export interface ResolvedS3Config {
  readonly endpoint?: string;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  readonly forcePathStyle: boolean;
  readonly maxAttempts: number;
  readonly partSizeBytes: number;
  readonly connectionTimeoutMs: number;
}

const MIN_PART = 5 * 1024 * 1024;

function boolEnv(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new ArtifactError('ARTIFACT_CONFIG', `${name}=${JSON.stringify(v)} is not a boolean; use true or false`);
}

/** Options first, then the environment. */
export function resolveS3Config(opts: S3Options = {}, env: NodeJS.ProcessEnv = process.env): ResolvedS3Config {
  const endpoint = opts.endpoint ?? (env.TRAINYARD_S3_ENDPOINT || undefined);
  if (endpoint !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(endpoint);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
      throw new ArtifactError('ARTIFACT_CONFIG', `S3 endpoint ${JSON.stringify(endpoint)} is not an http(s) URL; set it like http://127.0.0.1:9000`);
    }
    if (u.username || u.password) throw new ArtifactError('ARTIFACT_CONFIG', 'S3 endpoint URL must not contain credentials; pass them as accessKeyId/secretAccessKey or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
  }
  const region = opts.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1');
  const fromOpts = opts.accessKeyId !== undefined || opts.secretAccessKey !== undefined;
  const accessKeyId = fromOpts ? opts.accessKeyId : env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = fromOpts ? opts.secretAccessKey : env.AWS_SECRET_ACCESS_KEY || undefined;
  const sessionToken = fromOpts ? opts.sessionToken : env.AWS_SESSION_TOKEN || undefined;
  const where = fromOpts ? 'the s3 options' : 'the environment';
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'an access key id (AWS_ACCESS_KEY_ID)' : 'a secret access key (AWS_SECRET_ACCESS_KEY)';
    throw new ArtifactError('ARTIFACT_CONFIG', `S3 credentials in ${where} lack ${missing}; give both or neither`);
  }
  const partSizeBytes = opts.partSizeBytes ?? 8 * 1024 * 1024;
  if (!Number.isSafeInteger(partSizeBytes) || partSizeBytes < MIN_PART) {
    throw new ArtifactError('ARTIFACT_CONFIG', `S3 part size ${partSizeBytes} is below S3's minimum of ${MIN_PART} bytes`);
  }
  return {
    endpoint,
    region,
    credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined,
    forcePathStyle: opts.forcePathStyle ?? boolEnv('TRAINYARD_S3_FORCE_PATH_STYLE', env.TRAINYARD_S3_FORCE_PATH_STYLE) ?? endpoint !== undefined,
    maxAttempts: opts.maxAttempts ?? 3,
    partSizeBytes,
    connectionTimeoutMs: opts.connectionTimeoutMs ?? 5000,
  };
}

/** S3's bucket naming rules (the common subset that works on AWS and S3-compatible servers). */
export function validateBucketName(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new ArtifactError('ARTIFACT_URI_INVALID', `S3 bucket name ${JSON.stringify(bucket)} is not valid: use 3–63 lowercase letters, digits, dots and hyphens`);
  }
  return bucket;
}

const AUTH_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'Forbidden',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
  'InvalidSecurity',
  'CredentialsProviderError',
  // Versity Gateway answers an unknown access key id with 404 XAdminUserNotFound (AWS: 403 InvalidAccessKeyId).
  'XAdminUserNotFound',
]);
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

/** An artifact store in an S3 bucket, under an optional prefix (`s3://bucket/prefix`). */
export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  /** '' or a prefix ending in '/'. */
  readonly prefix: string;
  readonly rootUri: string;
  /** The endpoint as shown in messages. */
  readonly endpointLabel: string;
  private readonly client: S3Client;
  private readonly config: ResolvedS3Config;
  private bucketSeen = false;

  constructor(bucket: string, prefix: string, opts: S3Options = {}, env: NodeJS.ProcessEnv = process.env) {
    this.bucket = validateBucketName(bucket);
    const p = validatePrefix(prefix.replace(/^\/+/, ''));
    this.prefix = p === '' || p.endsWith('/') ? p : `${p}/`;
    this.rootUri = `s3://${this.bucket}/${this.prefix}`;
    this.config = resolveS3Config(opts, env);
    this.endpointLabel = this.config.endpoint ?? `https://s3.${this.config.region}.amazonaws.com (AWS)`;
    this.client = new S3Client({
      region: this.config.region,
      ...(this.config.endpoint ? { endpoint: this.config.endpoint } : {}),
      ...(this.config.credentials ? { credentials: this.config.credentials } : {}),
      forcePathStyle: this.config.forcePathStyle,
      maxAttempts: this.config.maxAttempts,
      // Checksums only where S3 requires them: many S3-compatible servers reject the
      // streaming checksum trailers that newer SDKs send by default.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: this.config.connectionTimeoutMs },
    });
  }

  private full(key: string): string {
    return this.prefix + validateKey(key);
  }

  uriOf(key: string): string {
    if (key === '') return this.rootUri;
    return this.rootUri + validateKey(key);
  }

  keyOf(uri: string): string | undefined {
    if (!uri.startsWith(this.rootUri)) return undefined;
    try {
      return validateKey(uri.slice(this.rootUri.length));
    } catch {
      return undefined;
    }
  }

  /** Removes the secret from any text that goes into a message. */
  private redact(text: string): string {
    const secret = this.config.credentials?.secretAccessKey;
    return secret ? text.split(secret).join('[redacted]') : text;
  }

  private maskedKeyId(): string {
    const id = this.config.credentials?.accessKeyId;
    if (!id) return 'from the default credential chain';
    return id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-2)}` : `${id.slice(0, 2)}…`;
  }

  /** Maps an SDK or network error to an ArtifactError that names bucket and endpoint. */
  private mapError(e: unknown, op: string, key?: string): ArtifactError {
    if (e instanceof ArtifactError) return e;
    const err = (e ?? {}) as SdkErrorShape;
    const name = err.name ?? err.Code ?? '';
    const status = err.$metadata?.httpStatusCode;
    const target = key !== undefined ? this.uriOf(key) : this.rootUri;
    const at = `bucket "${this.bucket}" at endpoint ${this.endpointLabel}`;
    const net = errnoCode(e) ?? errnoCode(err.errors?.[0]);
    if (net && NETWORK_ERRORS.has(net)) {
      return new ArtifactError('ARTIFACT_UNREACHABLE', `cannot reach the S3 endpoint ${this.endpointLabel} (${net}) to ${op} ${target}. Check that the server is running and that TRAINYARD_S3_ENDPOINT is right.`, target);
    }
    if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'AbortError') {
      return new ArtifactError('ARTIFACT_UNREACHABLE', `the S3 endpoint ${this.endpointLabel} did not answer in time (${name}) to ${op} ${target}. Check that the server is running and reachable.`, target);
    }
    if (AUTH_ERRORS.has(name) || status === 403) {
      return new ArtifactError(
        'ARTIFACT_AUTH',
        `S3 refused the credentials (access key id ${this.maskedKeyId()}) for ${at}: ${name || `HTTP ${status}`}, while trying to ${op} ${target}. Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the s3 options) and the bucket's policy.`,
        target,
      );
    }
    if (name === 'NoSuchBucket') return this.bucketMissing(target);
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
      return new ArtifactError('ARTIFACT_NOT_FOUND', `artifact ${target} does not exist (${at})`, target);
    }
    const detail = this.redact(err.message ?? String(e));
    return new ArtifactError('ARTIFACT_IO', `S3 request to ${op} ${target} failed at ${at}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${detail}`, target);
  }

  private bucketMissing(target: string): ArtifactError {
    return new ArtifactError('ARTIFACT_BUCKET_MISSING', `S3 bucket "${this.bucket}" does not exist at endpoint ${this.endpointLabel}. Create it, or fix the artifacts URI (${this.rootUri}).`, target);
  }

  /** A 404 without a body (HEAD) cannot tell a missing key from a missing bucket: ask once. */
  private async checkBucket(key: string): Promise<void> {
    if (this.bucketSeen) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
    } catch (e) {
      const err = e as SdkErrorShape;
      if (err.$metadata?.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchBucket') throw this.bucketMissing(this.uriOf(key));
      throw this.mapError(e, 'check the bucket of', key);
    }
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.full(key);
    try {
      const bytes = Buffer.isBuffer(body) ? await this.putBuffer(Key, body, opts) : await this.putStream(Key, body, opts);
      this.bucketSeen = true;
      return { key, uri: this.uriOf(key), bytes };
    } catch (e) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw this.mapError(e, 'write', key);
    }
  }

  private async putBuffer(Key: string, body: Buffer, opts: PutOptions): Promise<number> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.length, ContentType: opts.contentType }));
    return body.length;
  }

  /** Up to one part in memory: one PUT when the stream is short, a multipart upload otherwise. */
  private async putStream(Key: string, body: Readable, opts: PutOptions): Promise<number> {
    const partSize = this.config.partSizeBytes;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let total = 0;
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    const sendPart = async (part: Buffer): Promise<void> => {
      if (uploadId === undefined) {
        const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType: opts.contentType }));
        if (!created.UploadId) throw new Error('the server started a multipart upload without an upload id');
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      const r = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: part, ContentLength: part.length }));
      parts.push({ ETag: r.ETag, PartNumber });
    };
    try {
      for await (const chunk of body) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        pending.push(b);
        pendingBytes += b.length;
        total += b.length;
        while (pendingBytes >= partSize) {
          const all = Buffer.concat(pending, pendingBytes);
          await sendPart(all.subarray(0, partSize));
          const rest = all.subarray(partSize);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
        }
      }
      if (uploadId === undefined) return await this.putBuffer(Key, Buffer.concat(pending, pendingBytes), opts);
      if (pendingBytes > 0) await sendPart(Buffer.concat(pending, pendingBytes));
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      return total;
    } catch (e) {
      if (uploadId !== undefined) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => undefined);
      }
      throw e;
    }
  }

  private async getObject(key: string, range?: string): Promise<Readable> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.full(key), Range: range }));
      this.bucketSeen = true;
      if (!res.Body) throw new Error('the server sent no body');
      return res.Body as Readable;
    } catch (e) {
      throw this.mapError(e, 'read', key);
    }
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.getObject(key);
    try {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
      return Buffer.concat(chunks);
    } catch (e) {
      throw this.mapError(e, 'read', key);
    }
  }

  async getStream(key: string): Promise<Readable> {
    return this.getObject(key);
  }

  async getRange(key: string, range: ByteRange): Promise<Buffer> {
    checkRange(range);
    if (range.length === 0) {
      if (!(await this.exists(key))) throw this.mapError({ name: 'NoSuchKey' }, 'read', key);
      return Buffer.alloc(0);
    }
    let body: Readable;
    try {
      body = await this.getObject(key, `bytes=${range.offset}-${range.offset + range.length - 1}`);
    } catch (e) {
      // 416: the object exists but the range starts past its end.
      if (e instanceof ArtifactError && e.code === 'ARTIFACT_IO' && /InvalidRange|HTTP 416/.test(e.message)) return Buffer.alloc(0);
      throw e;
    }
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
    const buf = Buffer.concat(chunks);
    // A server that ignores Range sends the whole object.
    return buf.length > range.length ? buf.subarray(range.offset, range.offset + range.length) : buf;
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
      this.bucketSeen = true;
      return { size: res.ContentLength ?? 0, lastModified: res.LastModified ?? new Date(0) };
    } catch (e) {
      const err = e as SdkErrorShape;
      if (err.$metadata?.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey') {
        await this.checkBucket(key);
        return undefined;
      }
      throw this.mapError(e, 'look up', key);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async list(prefix: string): Promise<ArtifactEntry[]> {
    validatePrefix(prefix);
    const out: ArtifactEntry[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
        for (const o of res.Contents ?? []) {
          if (!o.Key || !o.Key.startsWith(this.prefix)) continue;
          out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      this.bucketSeen = true;
    } catch (e) {
      throw this.mapError(e, 'list objects under');
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) }));
    } catch (e) {
      const err = e as SdkErrorShape;
      if (err.name === 'NoSuchKey') return;
      throw this.mapError(e, 'delete', key);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    validatePrefix(prefix);
    if (prefix === '') throw new ArtifactError('ARTIFACT_KEY_INVALID', `refusing to delete every object in ${this.rootUri}: give a non-empty prefix`);
    const entries = await this.list(prefix);
    for (let i = 0; i < entries.length; i += 1000) {
      const batch = entries.slice(i, i + 1000);
      let res;
      try {
        res = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Quiet: true, Objects: batch.map((e) => ({ Key: this.prefix + e.key })) } }),
        );
      } catch (e) {
        throw this.mapError(e, 'delete objects under', undefined);
      }
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new ArtifactError(
          'ARTIFACT_IO',
          `could not delete ${failed.length} object(s) under ${this.rootUri}${prefix}, the first s3://${this.bucket}/${first.Key}: ${first.Code ?? 'error'} ${this.redact(first.Message ?? '')}`.trim(),
          this.rootUri + prefix,
        );
      }
    }
    return entries.length;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
