/**
 * One list-then-watch loop over a collection (the executor's pods of one namespace, or its
 * Warning events), the way informers do it:
 * - list (paginated), remember the list's resourceVersion, hand the full state to `onList`;
 * - watch from that resourceVersion with bookmarks, tracking the version of every event and
 *   bookmark, so a reconnect (the server ends watches every few minutes; the API server may
 *   restart) resumes exactly where it stopped;
 * - on 410 Gone (the version was compacted away) list again and resume from the new list;
 * - on connection errors, back off (250 ms doubling to 5 s) and retry.
 * Objects are never fetched one by one.
 */
import { KubeApiError, type KubeApiClient, type StreamHandle } from './api-client.js';
import type { ListJson, ObjectMetaJson, StatusJson } from './pod-json.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatcherOptions<T extends { metadata: ObjectMetaJson }> {
  readonly client: KubeApiClient;
  /** Collection path, e.g. /api/v1/namespaces/ns/pods. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** The complete current state after a (re)list. */
  readonly onList: (items: readonly T[], resourceVersion: string | undefined) => void;
  readonly onEvent: (type: WatchEventType, obj: T) => void;
  /** Connection problems, for logs (the watcher recovers by itself). */
  readonly onProblem?: (message: string) => void;
  /** Server-side watch timeout, seconds (default 240-300, jittered). */
  readonly timeoutSeconds?: number;
  readonly pageSize?: number;
}

/** Splits a stream of newline-delimited JSON into parsed objects. */
export class JsonLineSplitter {
  private rest = '';
  push(chunk: string, onObject: (o: unknown) => void): void {
    const text = this.rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl).trim();
      start = nl + 1;
      if (line !== '') onObject(JSON.parse(line));
    }
    this.rest = text.slice(start);
  }
}

export class ResourceWatcher<T extends { metadata: ObjectMetaJson }> {
  private resourceVersion: string | undefined;
  private stopped = false;
  private current?: StreamHandle;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** Times the collection was listed (1 + relists after 410 Gone). */
  lists = 0;
  /** Watch connections opened. */
  connects = 0;
  private readyResolve!: () => void;
  private readyReject!: (err: unknown) => void;
  /** Resolves after the first list. */
  readonly ready: Promise<void>;

  constructor(private readonly o: WatcherOptions<T>) {
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => {});
  }

  start(): Promise<void> {
    this.loop ??= this.run();
    return this.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    this.readyReject(new Error('the watch was stopped'));
    await this.loop;
  }

  get version(): string | undefined {
    return this.resourceVersion;
  }

  private async list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.o.client.request<ListJson<T>>('GET', this.o.path, {
        query: { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, limit: this.o.pageSize ?? 500, continue: cont },
        retryBudgetMs: 30_000,
      });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.lists++;
    this.resourceVersion = rv;
    this.o.onList(items, rv);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) {
          await this.list();
          this.readyResolve();
        }
        const gone = await this.watchOnce();
        failures = 0;
        if (gone) this.resourceVersion = undefined;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof KubeApiError && err.status === 410) {
          this.resourceVersion = undefined;
          continue;
        }
        failures++;
        this.o.onProblem?.(`watch of ${this.o.path} failed (${(err as Error).message}); retrying`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(failures - 1, 5)));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One watch connection; resolves true when the server said 410 Gone. */
  private async watchOnce(): Promise<boolean> {
    const splitter = new JsonLineSplitter();
    let gone = false;
    const timeout = this.o.timeoutSeconds ?? 240 + Math.floor(Math.random() * 60);
    this.connects++;
    const handle = await this.o.client.stream(
      this.o.path,
      {
        watch: 1,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: this.o.labelSelector,
        fieldSelector: this.o.fieldSelector,
        timeoutSeconds: timeout,
      },
      (chunk) => {
        splitter.push(chunk, (raw) => {
          const ev = raw as { type: string; object: unknown };
          if (ev.type === 'ERROR') {
            const s = ev.object as StatusJson;
            if (s.code === 410) gone = true;
            else this.o.onProblem?.(`watch of ${this.o.path} reported ${s.code} ${s.reason ?? ''}: ${s.message ?? ''}`);
            handle.abort();
            return;
          }
          const obj = ev.object as T;
          const rv = obj?.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (ev.type === 'BOOKMARK') return;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') this.o.onEvent(ev.type, obj);
        });
      },
    );
    this.current = handle;
    if (this.stopped) handle.abort();
    await handle.done;
    this.current = undefined;
    return gone;
  }
}
