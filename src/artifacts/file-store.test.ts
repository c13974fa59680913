import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HomeLayout } from '../scheduler/paths.js';
import { artifactStoreConformance, expectArtifactError } from './conformance.js';
import { FileArtifactStore } from './file-store.js';
import { tryPrefix } from './keys.js';
import { assertWritable, defaultArtifactsUri, openArtifactStore, parseArtifactUri } from './open.js';

artifactStoreConformance('FileArtifactStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ty-art-'));
  const store = new FileArtifactStore(join(dir, 'root'));
  return {
    store,
    dispose: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('FileArtifactStore specifics', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ty-art-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes nothing outside its root for traversal keys', async () => {
    const store = new FileArtifactStore(join(dir, 'root'));
    await store.put('ok', Buffer.from('x'));
    for (const key of ['../outside', '../../outside', 'a/../../outside']) await expectArtifactError(store.put(key, Buffer.from('evil')), 'ARTIFACT_KEY_INVALID');
    expect((await readdir(dir)).sort()).toEqual(['root']);
  });

  it('keeps files at their keys, and removes directories left empty by deletes', async () => {
    const root = join(dir, 'root');
    const store = new FileArtifactStore(root);
    await store.put('a/b/c.txt', Buffer.from('c'));
    expect((await stat(join(root, 'a', 'b', 'c.txt'))).size).toBe(1);
    await store.delete('a/b/c.txt');
    expect(await readdir(root)).toEqual([]);
  });

  it('skips files still being written when listing', async () => {
    const root = join(dir, 'root');
    const store = new FileArtifactStore(root);
    await store.put('p/done', Buffer.from('1'));
    await writeFile(join(root, 'p', '.trainyard-partial-abc123'), 'half');
    expect((await store.list('p/')).map((e) => e.key)).toEqual(['p/done']);
  });

  it("puts a try's prefix in that try's artifacts directory under TRAINYARD_HOME", async () => {
    const home = join(dir, 'home');
    const store = openArtifactStore(defaultArtifactsUri(home));
    const k = { dagId: 'd', runId: 'r1', taskId: 't', mapIndex: -1, tryNumber: 1 };
    await store.put(`${tryPrefix(k)}model.bin`, Buffer.from('m'));
    expect((await stat(join(new HomeLayout(home).artifactsDir(k), 'model.bin'))).size).toBe(1);
  });

  it('defaults to $TRAINYARD_HOME/artifacts', () => {
    const saved = process.env.TRAINYARD_HOME;
    process.env.TRAINYARD_HOME = join(dir, 'h');
    try {
      expect(defaultArtifactsUri()).toBe(pathToFileURL(join(dir, 'h', 'artifacts') + '/').href);
      expect(openArtifactStore().rootUri).toBe(pathToFileURL(join(dir, 'h', 'artifacts') + '/').href);
    } finally {
      if (saved === undefined) delete process.env.TRAINYARD_HOME;
      else process.env.TRAINYARD_HOME = saved;
    }
  });

  it('refuses a file store at a relative path', () => {
    expect(() => new FileArtifactStore('relative/dir')).toThrow(/not absolute/);
  });
});

describe('parseArtifactUri', () => {
  it('parses file and s3 URIs, and plain absolute paths', () => {
    expect(parseArtifactUri('file:///var/lib/ty/artifacts')).toEqual({ scheme: 'file', dir: '/var/lib/ty/artifacts' });
    expect(parseArtifactUri('file:///a%20b/c')).toEqual({ scheme: 'file', dir: '/a b/c' });
    expect(parseArtifactUri('/abs/dir')).toEqual({ scheme: 'file', dir: '/abs/dir' });
    expect(parseArtifactUri('s3://bucket/some/prefix')).toEqual({ scheme: 's3', bucket: 'bucket', prefix: 'some/prefix' });
    expect(parseArtifactUri('s3://bucket')).toEqual({ scheme: 's3', bucket: 'bucket', prefix: '' });
  });

  it.each([
    ['', /empty/],
    ['relative/dir', /not a URI/],
    ['http://host/x', /scheme http/],
    ['file://host/x', /names a host/],
    ['s3:///prefix', /no bucket/],
  ])('refuses %j', (uri, message) => {
    expect(() => parseArtifactUri(uri)).toThrow(message);
  });

  it('refuses invalid bucket names when opening', () => {
    expect(() => openArtifactStore('s3://Bad_Bucket/x', { env: {} })).toThrow(/bucket name "Bad_Bucket" is not valid/);
    expect(() => openArtifactStore('s3://ab/x', { env: {} })).toThrow(/not valid/);
  });
});

describe('assertWritable on local directories', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ty-wr-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing directory and leaves no probe behind', async () => {
    const target = join(dir, 'checkpoints', 'dag_id=d');
    await assertWritable(pathToFileURL(target).href, { label: 'checkpoint location' });
    expect(await readdir(target)).toEqual([]);
  });

  it('names a location under a file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const target = join(dir, 'file', 'checkpoints');
    const err = await expectArtifactError(assertWritable(pathToFileURL(target).href, { label: 'checkpoint location' }), 'ARTIFACT_NOT_WRITABLE');
    expect(err.message).toContain(`checkpoint location ${target} is not writable`);
    expect(err.message).toMatch(/ENOTDIR|EEXIST/);
  });

  it('names a directory without write permission', async ({ skip }) => {
    if (process.getuid?.() === 0) skip('root may write into any directory');
    const { chmod } = await import('node:fs/promises');
    const target = join(dir, 'ro');
    await import('node:fs/promises').then((fs) => fs.mkdir(target));
    await chmod(target, 0o555);
    const err = await expectArtifactError(assertWritable(target), 'ARTIFACT_NOT_WRITABLE');
    expect(err.message).toContain(target);
    expect(err.message).toContain('EACCES');
    await chmod(target, 0o755);
  });

  it('fails at once, without spinning, where mkdir keeps answering ENOENT (/proc)', async () => {
    const err = await expectArtifactError(assertWritable('file:///proc/trainyard-checkpoints/x', { label: 'checkpoint location' }), 'ARTIFACT_NOT_WRITABLE');
    expect(err.message).toContain('checkpoint location /proc/trainyard-checkpoints/x is not writable');
  }, 5_000);
});
