/**
 * The S3 backend against a real S3-compatible server (Versity Gateway, started on loopback by
 * scripts/s3/up.sh): the conformance suite, then the failures a user meets — wrong
 * credentials, a missing bucket, an unreachable endpoint — checked for clear messages that
 * never contain the secret.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactStoreConformance, expectArtifactError } from './conformance.js';
import type { ArtifactError } from './errors.js';
import { assertWritable, openArtifactStore } from './open.js';
import { resolveS3Config, S3ArtifactStore, type S3Options } from './s3-store.js';
import { S3_SERVER_START_TIMEOUT_MS, s3TestServer, type S3TestServer } from './test-server.js';

let server: S3TestServer;
let counter = 0;

beforeAll(async () => {
  server = await s3TestServer();
}, S3_SERVER_START_TIMEOUT_MS);

function opts(over: Partial<S3Options> = {}): S3Options {
  return { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, ...over };
}

function uniquePrefix(): string {
  return `test-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}/`;
}

artifactStoreConformance('S3ArtifactStore', async () => {
  const prefix = uniquePrefix();
  const store = new S3ArtifactStore(server.bucket, prefix, opts());
  return {
    store,
    dispose: async () => {
      await store.close();
      const admin = new S3ArtifactStore(server.bucket, '', opts());
      try {
        await admin.deletePrefix(prefix);
      } finally {
        await admin.close();
      }
    },
  };
});

/** The error must not carry the secret anywhere a log could show it. */
function expectNoSecret(err: ArtifactError, secret: string): void {
  expect(err.message).not.toContain(secret);
  expect(err.stack ?? '').not.toContain(secret);
  expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(secret);
  expect(JSON.stringify(err)).not.toContain(secret);
}

describe('S3ArtifactStore against the real server', () => {
  it('opens from the URI with endpoint and credentials from the environment', async () => {
    const prefix = uniquePrefix();
    const env = { TRAINYARD_S3_ENDPOINT: server.endpoint, AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region };
    const store = openArtifactStore(`s3://${server.bucket}/${prefix}`, { env });
    try {
      expect(store.rootUri).toBe(`s3://${server.bucket}/${prefix}`);
      await store.put('x.txt', Buffer.from('from env'));
      expect((await store.get('x.txt')).toString()).toBe('from env');
      // Options win over the environment.
      const mixed = openArtifactStore(`s3://${server.bucket}/${prefix}`, { env: { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-env-secret' }, s3: opts() });
      expect(await mixed.exists('x.txt')).toBe(true);
      await mixed.close();
      expect(await store.deletePrefix('x')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('pages through listings and deletes more than 1000 objects by prefix', async () => {
    const prefix = uniquePrefix();
    const store = new S3ArtifactStore(server.bucket, prefix, opts());
    try {
      const keys = Array.from({ length: 1050 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => store.put(k, Buffer.from(k))));
      await store.put('other', Buffer.from('o'));
      const listed = await store.list('many/');
      expect(listed.map((e) => e.key)).toEqual(keys);
      expect(await store.deletePrefix('many/')).toBe(1050);
      expect((await store.list('')).map((e) => e.key)).toEqual(['other']);
      await store.delete('other');
    } finally {
      await store.close();
    }
  }, 180_000);

  it('checks that a location is writable, and leaves no probe object behind', async () => {
    const prefix = uniquePrefix();
    await assertWritable(`s3://${server.bucket}/${prefix}checkpoints`, { s3: opts(), label: 'checkpoint location' });
    const store = new S3ArtifactStore(server.bucket, prefix, opts());
    expect(await store.list('')).toEqual([]);
    await store.close();
  });

  describe('wrong credentials', () => {
    const WRONG_SECRET = `wrong-secret-${randomBytes(8).toString('hex')}`;
    let store: S3ArtifactStore;
    beforeAll(() => {
      store = new S3ArtifactStore(server.bucket, 'auth/', opts({ secretAccessKey: WRONG_SECRET, maxAttempts: 1 }));
    });
    afterAll(async () => {
      await store.close();
    });

    it.each([
      ['put', () => store.put('k', Buffer.from('x'))],
      ['put (stream)', () => store.put('k', Readable.from([Buffer.from('x')]))],
      ['get', () => store.get('k')],
      ['getStream', () => store.getStream('k')],
      ['getRange', () => store.getRange('k', { offset: 0, length: 2 })],
      ['exists', () => store.exists('k')],
      ['list', () => store.list('')],
      ['delete', () => store.delete('k')],
      ['deletePrefix', () => store.deletePrefix('k/')],
    ])('%s fails with ARTIFACT_AUTH naming bucket and endpoint, never the secret', async (_op, call) => {
      const err = await expectArtifactError(call(), 'ARTIFACT_AUTH');
      expect(err.message).toContain(`bucket "${server.bucket}"`);
      expect(err.message).toContain(server.endpoint);
      expect(err.message).toMatch(/AWS_SECRET_ACCESS_KEY/);
      expectNoSecret(err, WRONG_SECRET);
      expectNoSecret(err, server.secretAccessKey);
    });

    it('is reported by assertWritable the same way', async () => {
      const err = await expectArtifactError(
        assertWritable(`s3://${server.bucket}/ckpt`, { s3: opts({ secretAccessKey: WRONG_SECRET, maxAttempts: 1 }), label: 'checkpoint location' }),
        'ARTIFACT_AUTH',
      );
      expect(err.message).toContain('checkpoint location');
      expect(err.message).toContain(server.endpoint);
      expectNoSecret(err, WRONG_SECRET);
    });

    it('an unknown access key id is ARTIFACT_AUTH too', async () => {
      const other = new S3ArtifactStore(server.bucket, '', opts({ accessKeyId: 'NOSUCHACCESSKEY1', maxAttempts: 1 }));
      const err = await expectArtifactError(other.get('k'), 'ARTIFACT_AUTH');
      expect(err.message).toContain(`bucket "${server.bucket}"`);
      expectNoSecret(err, server.secretAccessKey);
      await other.close();
    });

    it('the environment secret is kept out of messages too', async () => {
      const env = { TRAINYARD_S3_ENDPOINT: server.endpoint, AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: WRONG_SECRET };
      const fromEnv = openArtifactStore(`s3://${server.bucket}/x`, { env, s3: { maxAttempts: 1 } });
      const err = await expectArtifactError(fromEnv.list(''), 'ARTIFACT_AUTH');
      expectNoSecret(err, WRONG_SECRET);
      await fromEnv.close();
    });
  });

  describe('a missing bucket', () => {
    const MISSING = 'trainyard-no-such-bucket';
    it.each([
      ['put', (s: S3ArtifactStore) => s.put('k', Buffer.from('x'))],
      ['get', (s: S3ArtifactStore) => s.get('k')],
      ['exists', (s: S3ArtifactStore) => s.exists('k')],
      ['list', (s: S3ArtifactStore) => s.list('')],
    ])('%s fails with ARTIFACT_BUCKET_MISSING naming the bucket', async (_op, call) => {
      const store = new S3ArtifactStore(MISSING, 'p', opts());
      try {
        const err = await expectArtifactError(call(store), 'ARTIFACT_BUCKET_MISSING');
        expect(err.message).toContain(`bucket "${MISSING}" does not exist`);
        expect(err.message).toContain(server.endpoint);
      } finally {
        await store.close();
      }
    });
  });

  describe('an unreachable endpoint', () => {
    let endpoint: string;
    beforeAll(async () => {
      // A port that was free a moment ago: nothing listens there.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as { port: number }).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      endpoint = `http://127.0.0.1:${port}`;
    });

    it.each([
      ['put', (s: S3ArtifactStore) => s.put('k', Buffer.from('x'))],
      ['get', (s: S3ArtifactStore) => s.get('k')],
      ['exists', (s: S3ArtifactStore) => s.exists('k')],
      ['list', (s: S3ArtifactStore) => s.list('')],
    ])('%s fails with ARTIFACT_UNREACHABLE naming the endpoint', async (_op, call) => {
      const store = new S3ArtifactStore(server.bucket, '', opts({ endpoint, maxAttempts: 1 }));
      try {
        const err = await expectArtifactError(call(store), 'ARTIFACT_UNREACHABLE');
        expect(err.message).toContain(endpoint);
        expect(err.message).toContain('ECONNREFUSED');
        expectNoSecret(err, server.secretAccessKey);
      } finally {
        await store.close();
      }
    });
  });
});

describe('resolveS3Config', () => {
  it('takes the environment when options are absent', () => {
    const c = resolveS3Config({}, { TRAINYARD_S3_ENDPOINT: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'eu-west-1' });
    expect(c).toMatchObject({ endpoint: 'http://127.0.0.1:9', region: 'eu-west-1', credentials: { accessKeyId: 'id', secretAccessKey: 's' }, forcePathStyle: true });
    expect(resolveS3Config({}, {})).toMatchObject({ endpoint: undefined, region: 'us-east-1', credentials: undefined, forcePathStyle: false });
    expect(resolveS3Config({}, { TRAINYARD_S3_FORCE_PATH_STYLE: 'false', TRAINYARD_S3_ENDPOINT: 'http://127.0.0.1:9' }).forcePathStyle).toBe(false);
  });

  it('refuses half a key pair and bad endpoints, without echoing the secret', () => {
    expect(() => resolveS3Config({}, { AWS_ACCESS_KEY_ID: 'id' })).toThrow(/lack a secret access key/);
    let message = '';
    try {
      resolveS3Config({ secretAccessKey: 'hush-hush-123' }, {});
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/lack an access key id/);
    expect(message).not.toContain('hush-hush-123');
    expect(() => resolveS3Config({ endpoint: 'ftp://x' }, {})).toThrow(/not an http\(s\) URL/);
    expect(() => resolveS3Config({ endpoint: 'http://user:pw@127.0.0.1:9' }, {})).toThrow(/must not contain credentials/);
    expect(() => resolveS3Config({ partSizeBytes: 1024 }, {})).toThrow(/minimum/);
  });
});
