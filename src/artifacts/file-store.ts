import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactError, errnoCode } from './errors.js';
import { validateKey, validatePrefix } from './keys.js';
import { makeDirs } from './make-dirs.js';
import type { ArtifactEntry, ArtifactStore, ByteRange, ObjectStat, PutOptions, PutResult } from './types.js';

/** Files being written are named so; listings skip them. */
const TEMP_MARK = '.trainyard-partial-';

/** An artifact store in a local directory (`file:///abs/dir`). Each key is a file under the directory. */
export class FileArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly rootUri: string;

  constructor(rootDir: string) {
    if (!path.isAbsolute(rootDir)) {
      throw new ArtifactError('ARTIFACT_URI_INVALID', `artifact directory ${JSON.stringify(rootDir)} is not absolute; use file:///absolute/path`);
    }
    this.root = path.resolve(rootDir);
    this.rootUri = pathToFileURL(this.root + path.sep).href;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...validateKey(key).split('/'));
  }

  uriOf(key: string): string {
    if (key === '') return this.rootUri;
    return pathToFileURL(this.pathOf(key)).href;
  }

  keyOf(uri: string): string | undefined {
    if (!uri.startsWith('file:')) return undefined;
    let p: string;
    try {
      p = fileURLToPath(uri);
    } catch {
      return undefined;
    }
    const rel = path.relative(this.root, p);
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
    const key = rel.split(path.sep).join('/');
    try {
      return validateKey(key);
    } catch {
      return undefined;
    }
  }

  private ioError(op: string, target: string, e: unknown): ArtifactError {
    const code = errnoCode(e);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new ArtifactError('ARTIFACT_NOT_WRITABLE', `cannot ${op} ${target}: ${code} (permission denied or read-only file system). Fix the directory's permissions or choose another artifacts location.`, target);
    }
    const why = e instanceof Error ? e.message : String(e);
    return new ArtifactError('ARTIFACT_IO', `cannot ${op} ${target}: ${why}`, target);
  }

  private notFound(key: string): ArtifactError {
    return new ArtifactError('ARTIFACT_NOT_FOUND', `artifact ${this.uriOf(key)} does not exist`, this.uriOf(key));
  }

  async put(key: string, body: Buffer | Readable, _opts?: PutOptions): Promise<PutResult> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await makeDirs(dir);
      if (Buffer.isBuffer(body)) await fs.writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
      const { size } = await fs.stat(tmp);
      // Rename is atomic: readers see the old object or the new one, never a part.
      await fs.rename(tmp, file);
      return { key, uri: this.uriOf(key), bytes: size };
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      if (!Buffer.isBuffer(body)) body.destroy();
      throw this.ioError('write', this.uriOf(key), e);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (e) {
      throw this.readError(key, e);
    }
  }

  private readError(key: string, e: unknown): ArtifactError {
    if (e instanceof ArtifactError) return e;
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return this.notFound(key);
    return this.ioError('read', this.uriOf(key), e);
  }

  async getStream(key: string): Promise<Readable> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (e) {
      await handle?.close();
      throw this.readError(key, e);
    }
    // The stream owns the handle and closes it at the end or on destroy.
    return handle.createReadStream();
  }

  async getRange(key: string, range: ByteRange): Promise<Buffer> {
    checkRange(range);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
      const { size } = await handle.stat();
      const want = Math.max(0, Math.min(range.length, size - range.offset));
      if (want === 0) return Buffer.alloc(0);
      const buf = Buffer.alloc(want);
      const { bytesRead } = await handle.read(buf, 0, want, range.offset);
      return buf.subarray(0, bytesRead);
    } catch (e) {
      throw this.readError(key, e);
    } finally {
      await handle?.close();
    }
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return st.isFile() ? { size: st.size, lastModified: st.mtime } : undefined;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.readError(key, e);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async list(prefix: string): Promise<ArtifactEntry[]> {
    validatePrefix(prefix);
    // Walk only the deepest directory that the prefix names whole.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const out: ArtifactEntry[] = [];
    const walk = async (dir: string, keyBase: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw this.ioError('list', pathToFileURL(dir).href, e);
      }
      for (const e of entries) {
        if (e.name.startsWith(TEMP_MARK)) continue;
        const key = keyBase === '' ? e.name : `${keyBase}/${e.name}`;
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          // Descend only where keys below could still match the prefix.
          if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix) || prefix === '') await walk(full, key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          try {
            const st = await fs.stat(full);
            out.push({ key, size: st.size, lastModified: st.mtime });
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') throw this.ioError('list', pathToFileURL(full).href, err);
          }
        }
      }
    };
    await walk(dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/')), dirKey);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fs.rm(file, { force: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOTDIR') return;
      throw this.ioError('delete', this.uriOf(key), e);
    }
    await this.pruneEmptyDirs(path.dirname(file));
  }

  async deletePrefix(prefix: string): Promise<number> {
    validatePrefix(prefix);
    if (prefix === '') throw new ArtifactError('ARTIFACT_KEY_INVALID', `refusing to delete every object in ${this.rootUri}: give a non-empty prefix`);
    const entries = await this.list(prefix);
    for (const e of entries) await this.delete(e.key);
    return entries.length;
  }

  /** Removes empty directories from `dir` up to (not including) the root, as S3 has no directories. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    let d = dir;
    while (d.startsWith(this.root + path.sep)) {
      try {
        await fs.rmdir(d);
      } catch {
        return; // not empty, or gone: stop
      }
      d = path.dirname(d);
    }
  }

  async close(): Promise<void> {}
}

export function checkRange(range: ByteRange): void {
  const ok = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || !ok(range.length)) {
    throw new ArtifactError('ARTIFACT_KEY_INVALID', `byte range offset=${range.offset} length=${range.length} is not two non-negative integers`);
  }
}

