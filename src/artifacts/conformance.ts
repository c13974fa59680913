/**
 * The conformance suite every artifact-store backend must pass. Call it from a test file:
 *
 *     artifactStoreConformance('FileArtifactStore', async () => {
 *       const dir = await mkdtemp(join(tmpdir(), 'ty-art-'));
 *       return { store: new FileArtifactStore(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
 *     });
 *
 * `make` gives each test an empty store of its own (a fresh directory, a fresh S3 prefix).
 * Not a runtime module: it imports vitest, so the barrel does not export it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactError } from './errors.js';
import { instancePrefix, tryPrefix } from './keys.js';
import { isArtifactRef, offloadIfLarge, resolveResult } from './offload.js';
import { logKey, readLog, shipLog } from './remote-log.js';
import type { ArtifactStore } from './types.js';

export interface StoreUnderTest {
  readonly store: ArtifactStore;
  /** Removes everything the test wrote and closes the store. */
  dispose(): Promise<void>;
}

/** Deterministic pseudo-random bytes, generated in chunks, so large objects need no fixture file. */
export function patternStream(totalBytes: number, chunkBytes = 256 * 1024, seed = 1): Readable {
  let sent = 0;
  let x = seed >>> 0 || 1;
  return new Readable({
    read() {
      if (sent >= totalBytes) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkBytes, totalBytes - sent);
      const buf = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        // xorshift32
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        buf[i] = x & 0xff;
      }
      sent += n;
      this.push(buf);
    },
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sha256(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}

/** Awaits a promise that must reject with an ArtifactError of `code`; returns the error. */
export async function expectArtifactError(p: Promise<unknown>, code: string): Promise<ArtifactError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected an ArtifactError ${code}`).toBeInstanceOf(ArtifactError);
  expect((caught as ArtifactError).code).toBe(code);
  return caught as ArtifactError;
}

const TRY = { dagId: 'digits', runId: 'manual__2026-01-02T03:04:05+00:00', taskId: 'features.scale', mapIndex: 3, tryNumber: 2 };

export function artifactStoreConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`artifact store conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ArtifactStore;

    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.dispose();
    });

    it('puts and gets a buffer; put reports the URI and size', async () => {
      const body = Buffer.from('hello artifacts');
      const put = await store.put('models/a/weights.bin', body);
      expect(put).toEqual({ key: 'models/a/weights.bin', uri: store.uriOf('models/a/weights.bin'), bytes: body.length });
      expect(put.uri.startsWith(store.rootUri)).toBe(true);
      expect(store.rootUri.endsWith('/')).toBe(true);
      expect(await store.get('models/a/weights.bin')).toEqual(body);
      expect(await store.exists('models/a/weights.bin')).toBe(true);
      const st = await store.stat('models/a/weights.bin');
      expect(st?.size).toBe(body.length);
      expect(st?.lastModified).toBeInstanceOf(Date);
      expect(Math.abs((st?.lastModified.getTime() ?? 0) - Date.now())).toBeLessThan(5 * 60_000);
    });

    it('maps keys to URIs and back', async () => {
      const key = 'a b/ünï=cödé/x+y:z.json';
      const uri = store.uriOf(key);
      expect(store.keyOf(uri)).toBe(key);
      expect(store.uriOf('')).toBe(store.rootUri);
      expect(store.keyOf(store.rootUri)).toBeUndefined();
      expect(store.keyOf('https://example.invalid/x')).toBeUndefined();
      expect(store.keyOf(`${store.rootUri.slice(0, -1)}-elsewhere/x`)).toBeUndefined();
      await store.put(key, Buffer.from('{}'));
      expect((await store.list('a b/')).map((e) => e.key)).toEqual([key]);
      expect(await store.get(store.keyOf(uri)!)).toEqual(Buffer.from('{}'));
    });

    it('replaces an object on a second put', async () => {
      await store.put('k', Buffer.from('first, and longer'));
      await store.put('k', Buffer.from('second'));
      expect((await store.get('k')).toString()).toBe('second');
      expect((await store.stat('k'))?.size).toBe(6);
    });

    it('stores empty objects and every byte value', async () => {
      await store.put('empty', Buffer.alloc(0));
      expect((await store.get('empty')).length).toBe(0);
      expect(await store.exists('empty')).toBe(true);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.put('bytes.bin', all);
      expect(await store.get('bytes.bin')).toEqual(all);
    });

    it('reports a missing object as ARTIFACT_NOT_FOUND naming its URI', async () => {
      const err = await expectArtifactError(store.get('nope/missing.bin'), 'ARTIFACT_NOT_FOUND');
      expect(err.message).toContain(store.uriOf('nope/missing.bin'));
      await expectArtifactError(store.getStream('nope/missing.bin'), 'ARTIFACT_NOT_FOUND');
      await expectArtifactError(store.getRange('nope/missing.bin', { offset: 0, length: 10 }), 'ARTIFACT_NOT_FOUND');
      expect(await store.stat('nope/missing.bin')).toBeUndefined();
      expect(await store.exists('nope/missing.bin')).toBe(false);
      // A "directory" of other objects is not an object.
      await store.put('dir/inside', Buffer.from('x'));
      expect(await store.exists('dir')).toBe(false);
      await expectArtifactError(store.get('dir'), 'ARTIFACT_NOT_FOUND');
    });

    it('streams a small object in and out', async () => {
      const put = await store.put('small.txt', Readable.from([Buffer.from('abc'), Buffer.from('def')]), { contentType: 'text/plain' });
      expect(put.bytes).toBe(6);
      expect((await collect(await store.getStream('small.txt'))).toString()).toBe('abcdef');
    });

    it('streams a 20 MB object in and out, and reads ranges of it', async () => {
      const size = 20 * 1024 * 1024 + 12345;
      const expected = await sha256(patternStream(size));
      const put = await store.put('big/data.bin', patternStream(size));
      expect(put.bytes).toBe(size);
      expect((await store.stat('big/data.bin'))?.size).toBe(size);
      expect(await sha256(await store.getStream('big/data.bin'))).toBe(expected);
      const whole = await collect(patternStream(size));
      // Across the 8 MiB boundary where a multipart upload cuts its parts.
      const at = 8 * 1024 * 1024 - 100;
      expect(await store.getRange('big/data.bin', { offset: at, length: 1000 })).toEqual(whole.subarray(at, at + 1000));
      expect(await store.getRange('big/data.bin', { offset: size - 10, length: 1000 })).toEqual(whole.subarray(size - 10));
      // Buffer.equals, not toEqual: a deep comparison of 20 M elements takes minutes.
      const got = await store.get('big/data.bin');
      expect(got.length).toBe(size);
      expect(got.equals(whole)).toBe(true);
    });

    it.each([
      ['early', 3],
      ['after more than one upload part (9.4 MiB)', 150],
    ])('leaves the previous object whole when a streamed put fails %s', async (_when, chunks) => {
      await store.put('atomic.bin', Buffer.from('old'));
      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent >= chunks) {
            this.destroy(new Error('source broke'));
            return;
          }
          sent++;
          this.push(Buffer.alloc(64 * 1024, 7));
        },
      });
      await expect(store.put('atomic.bin', failing)).rejects.toThrow();
      expect((await store.get('atomic.bin')).toString()).toBe('old');
      expect((await store.list('')).map((e) => e.key)).toEqual(['atomic.bin']);
    });

    it('reads byte ranges, short at the end and empty past it', async () => {
      await store.put('r.txt', Buffer.from('0123456789'));
      expect((await store.getRange('r.txt', { offset: 2, length: 3 })).toString()).toBe('234');
      expect((await store.getRange('r.txt', { offset: 8, length: 5 })).toString()).toBe('89');
      expect((await store.getRange('r.txt', { offset: 10, length: 5 })).length).toBe(0);
      expect((await store.getRange('r.txt', { offset: 50, length: 5 })).length).toBe(0);
      expect((await store.getRange('r.txt', { offset: 0, length: 0 })).length).toBe(0);
      await expectArtifactError(store.getRange('r.txt', { offset: -1, length: 2 }), 'ARTIFACT_KEY_INVALID');
      await expectArtifactError(store.getRange('r.txt', { offset: 0.5, length: 2 }), 'ARTIFACT_KEY_INVALID');
    });

    it('lists by string prefix, sorted, with sizes', async () => {
      const keys = ['a/b/1', 'a/b/2', 'a/bc/3', 'a/d', 'z'];
      for (const [i, k] of keys.entries()) await store.put(k, Buffer.alloc(i + 1, 1));
      expect((await store.list('')).map((e) => e.key)).toEqual(keys);
      expect((await store.list('a/b/')).map((e) => e.key)).toEqual(['a/b/1', 'a/b/2']);
      expect((await store.list('a/b')).map((e) => e.key)).toEqual(['a/b/1', 'a/b/2', 'a/bc/3']);
      expect((await store.list('a/')).map((e) => [e.key, e.size])).toEqual([
        ['a/b/1', 1],
        ['a/b/2', 2],
        ['a/bc/3', 3],
        ['a/d', 4],
      ]);
      expect(await store.list('nothing/')).toEqual([]);
      expect((await store.list('a/b/1')).map((e) => e.key)).toEqual(['a/b/1']);
    });

    it('deletes one object; deleting a missing one is fine', async () => {
      await store.put('d/1', Buffer.from('1'));
      await store.put('d/2', Buffer.from('2'));
      await store.delete('d/1');
      expect(await store.exists('d/1')).toBe(false);
      expect((await store.list('d/')).map((e) => e.key)).toEqual(['d/2']);
      await store.delete('d/1');
      await store.delete('never/was');
      await store.delete('d/2');
      expect(await store.list('')).toEqual([]);
    });

    it('deletes by prefix and keeps the rest; refuses the empty prefix', async () => {
      for (const k of ['run=1/a', 'run=1/b/c', 'run=10/a', 'run=2/a']) await store.put(k, Buffer.from(k));
      expect(await store.deletePrefix('run=1/')).toBe(2);
      expect((await store.list('')).map((e) => e.key)).toEqual(['run=10/a', 'run=2/a']);
      expect(await store.deletePrefix('run=1/')).toBe(0);
      expect(await store.deletePrefix('run=')).toBe(2);
      await store.put('keep', Buffer.from('k'));
      await expectArtifactError(store.deletePrefix(''), 'ARTIFACT_KEY_INVALID');
      expect(await store.exists('keep')).toBe(true);
    });

    it('rejects keys that could leave the store, before any I/O', async () => {
      await store.put('inside', Buffer.from('x'));
      const bad = ['../escape', 'a/../../escape', '..', 'a/..', './a', '/etc/passwd', 'a//b', '', 'a/', 'a\\b', 'a\u0000b', 'x'.repeat(1025)];
      for (const key of bad) {
        await expectArtifactError(store.put(key, Buffer.from('evil')), 'ARTIFACT_KEY_INVALID');
        await expectArtifactError(store.get(key), 'ARTIFACT_KEY_INVALID');
        await expectArtifactError(store.getStream(key), 'ARTIFACT_KEY_INVALID');
        await expectArtifactError(store.getRange(key, { offset: 0, length: 1 }), 'ARTIFACT_KEY_INVALID');
        await expectArtifactError(store.exists(key), 'ARTIFACT_KEY_INVALID');
        await expectArtifactError(store.delete(key), 'ARTIFACT_KEY_INVALID');
        expect(() => store.uriOf(key === '' ? '..' : key)).toThrow(ArtifactError);
      }
      for (const prefix of ['../', '/abs/', 'a/../', 'a//']) {
        await expectArtifactError(store.list(prefix), 'ARTIFACT_KEY_INVALID');
        await expectArtifactError(store.deletePrefix(prefix), 'ARTIFACT_KEY_INVALID');
      }
      expect((await store.list('')).map((e) => e.key)).toEqual(['inside']);
      // Dots inside a name are fine.
      await store.put('a/..b/c..', Buffer.from('ok'));
      expect((await store.get('a/..b/c..')).toString()).toBe('ok');
    });

    it('keeps each try under its own prefix, and the instance prefix across tries', async () => {
      const t1 = { ...TRY, tryNumber: 1 };
      expect(tryPrefix(TRY)).toBe(`dag_id=digits/run_id=${TRY.runId}/task_id=features.scale/map_index=3/attempt=2/`);
      await store.put(`${tryPrefix(t1)}model.bin`, Buffer.from('one'));
      await store.put(`${tryPrefix(TRY)}model.bin`, Buffer.from('two'));
      expect((await store.list(tryPrefix(TRY))).map((e) => e.key)).toEqual([`${tryPrefix(TRY)}model.bin`]);
      expect((await store.list(instancePrefix(TRY))).length).toBe(2);
      expect((await store.get(`${tryPrefix(t1)}model.bin`)).toString()).toBe('one');
    });

    it('offloads a large result and resolves the reference back', async () => {
      const small = JSON.stringify({ accuracy: 0.97 });
      expect(await offloadIfLarge(small, 1024, store, 'results/small.json')).toEqual({ inline: { accuracy: 0.97 } });
      expect(await store.exists('results/small.json')).toBe(false);

      const big = { weights: Array.from({ length: 5000 }, (_, i) => i / 7), note: 'naïve ✓' };
      const json = JSON.stringify(big);
      const out = await offloadIfLarge(json, 1024, store, `${tryPrefix(TRY)}result.json`);
      expect('ref' in out).toBe(true);
      if (!('ref' in out)) return;
      expect(out.ref).toEqual({ $artifact: store.uriOf(`${tryPrefix(TRY)}result.json`), bytes: Buffer.byteLength(json) });
      expect(isArtifactRef(out.ref)).toBe(true);
      // A reference survives being stored as JSON, and resolves wherever it sits.
      const passed = JSON.parse(JSON.stringify({ best: out.ref, trials: [1, out.ref], other: 'x' }));
      expect(await resolveResult(passed, store)).toEqual({ best: big, trials: [1, big], other: 'x' });
      expect(await resolveResult(out.ref, store)).toEqual(big);
      const plain = { a: [1, { b: 'c' }] };
      expect(await resolveResult(plain, store)).toBe(plain);
    });

    it('measures the result limit in UTF-8 bytes, inclusive', async () => {
      const json = JSON.stringify('é'.repeat(10)); // 22 bytes, 12 characters
      expect('inline' in (await offloadIfLarge(json, 22, store, 'r/at-limit.json'))).toBe(true);
      expect('ref' in (await offloadIfLarge(json, 21, store, 'r/over-limit.json'))).toBe(true);
      expect('ref' in (await offloadIfLarge(json, 12, store, 'r/chars.json'))).toBe(true);
    });

    it('refuses a result that is not JSON, and references it cannot resolve', async () => {
      await expectArtifactError(offloadIfLarge('{"a":', 1 << 20, store, 'r/bad.json'), 'RESULT_NOT_JSON');
      await expectArtifactError(offloadIfLarge('x'.repeat(5000), 10, store, 'r/bad.json'), 'RESULT_NOT_JSON');
      expect(await store.exists('r/bad.json')).toBe(false);
      const foreign = { $artifact: 's3://some-other-bucket/elsewhere/result.json', bytes: 10 };
      const err = await expectArtifactError(resolveResult(foreign, store), 'ARTIFACT_REF_INVALID');
      expect(err.message).toContain('s3://some-other-bucket/elsewhere/result.json');
      await expectArtifactError(resolveResult({ $artifact: store.uriOf('r/gone.json'), bytes: 3 }, store), 'ARTIFACT_NOT_FOUND');
      await store.put('r/not-json.json', Buffer.from('not json'));
      await expectArtifactError(resolveResult({ $artifact: store.uriOf('r/not-json.json'), bytes: 8 }, store), 'ARTIFACT_REF_INVALID');
    });

    it('ships a log and reads it back by ranges, never splitting a character', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ty-log-'));
      try {
        const lines = Array.from({ length: 400 }, (_, i) => `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z step ${i} loss=${(1 / (i + 1)).toFixed(4)} ✓ 训练\n`);
        const text = lines.join('');
        const file = join(dir, 'attempt=2.log');
        await writeFile(file, text);
        const key = logKey(TRY);
        expect(key).toBe(`dag_id=digits/run_id=${TRY.runId}/task_id=features.scale/map_index=3/attempt=2.log`);
        const shipped = await shipLog(file, store, key);
        expect(shipped.bytes).toBe(Buffer.byteLength(text));
        const size = Buffer.byteLength(text);

        const whole = await readLog(store, key);
        expect(whole).toEqual({ text, offset: 0, next_offset: size, size });

        const part = await readLog(store, key, { offset: 0, length: Buffer.byteLength(lines[0]) });
        expect(part.text).toBe(lines[0]);

        // Small reads that end inside multi-byte characters still add up to the text.
        let offset = 0;
        let joined = '';
        let reads = 0;
        while (offset < size) {
          const c = await readLog(store, key, { offset, length: 997 });
          expect(c.next_offset).toBeGreaterThan(offset);
          expect(c.text).not.toContain('\uFFFD');
          joined += c.text;
          offset = c.next_offset;
          reads++;
        }
        expect(joined).toBe(text);
        expect(reads).toBeGreaterThan(5);

        const tail = await readLog(store, key, { offset: -100 });
        expect(tail.next_offset).toBe(size);
        expect(text.endsWith(tail.text)).toBe(true);
        expect(tail.text).not.toContain('\uFFFD');
        expect(await readLog(store, key, { offset: size + 10, length: 5 })).toEqual({ text: '', offset: size + 10, next_offset: size + 10, size });

        await expectArtifactError(readLog(store, logKey({ ...TRY, tryNumber: 9 })), 'ARTIFACT_NOT_FOUND');
        // A try that never wrote a log ships an empty one.
        const none = await shipLog(join(dir, 'absent.log'), store, logKey({ ...TRY, tryNumber: 3 }));
        expect(none.bytes).toBe(0);
        expect((await readLog(store, logKey({ ...TRY, tryNumber: 3 }))).text).toBe('');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
