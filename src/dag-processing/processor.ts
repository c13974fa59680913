import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DagSpec } from '../core/spec.js';
import type { Store } from '../store/store.js';
import { forkSibling } from '../util/fork-entry.js';
import type { ParseReply, ParseRequest } from './protocol.js';

export interface DagProcessorOptions {
  readonly folder: string;
  readonly store: Store;
  readonly importTimeoutMs: number;
  readonly scanIntervalMs: number;
  readonly log?: (line: string) => void;
  /** Called after a pass that changed any DAG or import error. */
  readonly onChange?: () => void;
  /** Re-imports before the child is replaced, bounding the memory of re-imported modules. */
  readonly recycleAfter?: number;
}

export interface ParseSummary {
  readonly files: number;
  readonly parsed: number;
  readonly dags: number;
  readonly errors: number;
  readonly durationMs: number;
}

const DAG_FILE = /\.(ts|mts|js|mjs)$/;

/** Lists DAG files under a folder, skipping node_modules, hidden and underscore-prefixed entries, and .d.ts. */
export function listDagFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name.startsWith('_') || e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (DAG_FILE.test(e.name) && !e.name.endsWith('.d.ts') && !/\.test\.[mc]?[jt]s$/.test(e.name)) out.push(p);
    }
  };
  walk(path.resolve(folder));
  return out.sort();
}

export function specHash(spec: DagSpec): string {
  return crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/**
 * Keeps the store in step with the DAG folder. Files are imported in a child process with
 * a timeout per file: a file that hangs is recorded as an import error, the child is
 * replaced, and the other files load.
 */
export class DagProcessor {
  private child?: ChildProcess;
  /** Resolves when the current child has loaded the SDK. */
  private childReady?: Promise<void>;
  private readonly mtimes = new Map<string, number>();
  private nextId = 0;
  private imports = 0;
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<ParseSummary>;
  private stopped = false;

  constructor(private readonly o: DagProcessorOptions) {}

  /** Parses every new or changed file; records removed ones. */
  scanOnce(now = Date.now()): Promise<ParseSummary> {
    this.scanning ??= this.scan(now).finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scan(now: number): Promise<ParseSummary> {
    const started = performance.now();
    const files = listDagFiles(this.o.folder);
    const changed: string[] = [];
    for (const f of files) {
      let mtime: number;
      try {
        mtime = fs.statSync(f).mtimeMs;
      } catch {
        continue;
      }
      if (this.mtimes.get(f) !== mtime) {
        changed.push(f);
        this.mtimes.set(f, mtime);
      }
    }
    const gone = [...this.mtimes.keys()].filter((f) => !files.includes(f));
    for (const f of gone) {
      this.mtimes.delete(f);
      await this.o.store.deactivateDagsExcept(f, [], now);
      await this.o.store.clearImportError(f);
    }
    let dags = 0;
    let errors = 0;
    for (const file of changed) {
      if (this.stopped) break;
      const reply = await this.parseFile(file);
      dags += reply.dags.length;
      errors += reply.errors.length ? 1 : 0;
      await this.record(reply, now);
    }
    if ((changed.length || gone.length) && this.o.onChange) this.o.onChange();
    return { files: files.length, parsed: changed.length, dags, errors, durationMs: performance.now() - started };
  }

  private async record(reply: ParseReply, now: number): Promise<void> {
    const store = this.o.store;
    await store.transaction(async (tx) => {
      for (const d of reply.dags) await tx.upsertDag(d.spec, reply.file, specHash(d.spec), now);
      await tx.deactivateDagsExcept(
        reply.file,
        reply.dags.map((d) => d.dagId),
        now,
      );
      if (reply.errors.length) await tx.setImportError(reply.file, reply.errors.join('\n'), now);
      else await tx.clearImportError(reply.file);
    });
    for (const e of reply.errors) this.o.log?.(`import error in ${reply.file}: ${e}`);
  }

  private async parseFile(file: string): Promise<ParseReply> {
    if (this.imports >= (this.o.recycleAfter ?? 500)) this.killChild();
    this.imports += 1;
    const child = this.ensureChild();
    await this.childReady;
    const id = ++this.nextId;
    return new Promise<ParseReply>((resolve) => {
      const done = (reply: ParseReply) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(reply);
      };
      const fail = (message: string) => done({ type: 'parsed', id, file, dags: [], errors: [message], durationMs: 0 });
      const onMessage = (m: ParseReply) => {
        if (m?.type === 'parsed' && m.id === id) done(m);
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        fail(`importing the file stopped the DAG processor (exit ${code ?? signal}); a DAG file must not call process.exit`);
      };
      const timer = setTimeout(() => {
        this.killChild();
        fail(
          `importing the file took longer than ${this.o.importTimeoutMs / 1000}s and was stopped; ` +
            'move slow work (network, loops, large reads) out of module scope and into tasks',
        );
      }, this.o.importTimeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'parse', id, file } satisfies ParseRequest);
    });
  }

  private ensureChild(): ChildProcess {
    if (!this.child) {
      const child = forkSibling(import.meta.url, 'processor-child', { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], tsx: true });
      this.child = child;
      child.stderr?.resume();
      this.imports = 0;
      // The import timeout starts once the child is up; its own start-up gets a minute.
      this.childReady = new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          child.off('message', onReady);
          resolve();
        };
        const onReady = (m: { type?: string }) => m?.type === 'ready' && done();
        const timer = setTimeout(done, 60_000);
        child.on('message', onReady);
        child.once('exit', done);
      });
    }
    return this.child;
  }

  private killChild(): void {
    const c = this.child;
    this.child = undefined;
    if (c) {
      c.removeAllListeners('exit');
      c.kill('SIGKILL');
    }
  }

  /** Scans now and then every scanIntervalMs. */
  start(): Promise<ParseSummary> {
    const first = this.scanOnce();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.scanOnce().finally(loop), this.o.scanIntervalMs);
      this.timer.unref();
    };
    void first.finally(loop);
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.scanning?.catch(() => {});
    this.killChild();
  }
}
