import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { route } from '../route.js';
import { type FeedEvent, matchesFilter } from './changes.js';

/** Events a slow client may fall behind by before it gets a `reset` instead. */
const MAX_QUEUE = 10_000;
export const HEARTBEAT_MS = 15_000;

const eventsQuery = z.strictObject({
  dag_id: z.string().min(1).optional().describe('only changes of this DAG'),
  run_id: z.string().min(1).optional().describe('only changes of this run'),
  last_event_id: z.string().max(64).optional().describe('resume after this event (the Last-Event-ID header wins)'),
});

const DESCRIPTION = [
  'Server-sent events, one per state change, read from the store (so they include changes made by schedulers in other processes):',
  '`run` {dag_id, run_id, state} (`deleted` when a run is deleted);',
  '`ti` {dag_id, run_id, task_id, map_index, state, try_number} for a task that is not mapped;',
  "`task` {dag_id, run_id, task_id, changed, states} for a mapped task's instances, aggregated: how many changed and to which states;",
  '`dag` {dag_id, is_paused, is_active} (also sent when a new version of the DAG is stored);',
  '`import_errors` {files} when a DAG file fails to load or loads again.',
  'First comes `ready` {cursor}, or after a reconnect the missed changes; `reset` {cursor} instead when they are no longer available (refetch everything).',
  'Every event has an `id`: send it back as Last-Event-ID (browsers do) to resume. A comment line every 15 s keeps the connection open.',
].join(' ');

/** What one connection writes: a queue filled by the shared feed, drained by the stream. */
class Outgoing {
  private queue: FeedEvent[] = [];
  private overflowedAt: string | undefined;
  private wake: (() => void) | undefined;
  /** The newest position the feed has passed, whether or not its events matched the filters. */
  position: string | undefined;

  constructor(private readonly filter: { dagId?: string; runId?: string }) {}

  events(events: readonly FeedEvent[]): void {
    for (const e of events) {
      this.position = e.id;
      if (matchesFilter(e, this.filter)) this.queue.push(e);
    }
    if (this.queue.length > MAX_QUEUE) {
      this.overflowedAt = this.position;
      this.queue = [];
    }
    this.wake?.();
  }

  /** Waits until there is something to send, the heartbeat is due, or the signal aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.queue.length || this.overflowedAt !== undefined || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.wake = done;
    });
  }

  /** The text to write now and the id it ends with, or undefined when there is nothing. */
  take(): { text: string; id: string } | undefined {
    if (this.overflowedAt !== undefined) {
      const id = this.overflowedAt;
      this.overflowedAt = undefined;
      this.queue = [];
      return { text: frame('reset', id, { cursor: id, reason: 'the client fell behind' }), id };
    }
    if (!this.queue.length) return undefined;
    const text = this.queue.map((e) => frame(e.type, e.id, e.data)).join('');
    const id = this.queue[this.queue.length - 1].id;
    this.queue = [];
    return { text, id };
  }
}

function frame(event: string, id: string, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const eventRoutes = [
  route({
    method: 'get',
    path: '/events',
    tag: 'Events',
    summary: 'Follow state changes of runs, task instances, DAGs and import errors (server-sent events)',
    description: DESCRIPTION,
    query: eventsQuery,
    produces: 'text/event-stream',
    errors: { 406: 'The request does not accept text/event-stream (send Accept: text/event-stream, as EventSource does)' },
    handler: async ({ c, deps, query }) => {
      // A stream never ends: answer only clients that asked for one (EventSource, curl's */*).
      if (!/text\/event-stream|\*\/\*/.test(c.req.header('accept') ?? '')) {
        throw new ApiError(406, 'NOT_ACCEPTABLE', 'GET /api/v1/events is a stream of server-sent events: send Accept: text/event-stream');
      }
      const out = new Outgoing({ dagId: query.dag_id, runId: query.run_id });
      const lastEventId = c.req.header('last-event-id') ?? query.last_event_id;
      const heartbeatMs = deps.eventsHeartbeatMs ?? HEARTBEAT_MS;
      // Before the stream starts, so a store that cannot be read answers an error, not an empty stream.
      const { start, unsubscribe } = await deps.events.subscribe(out, lastEventId || undefined);
      c.header('cache-control', 'no-store');
      c.header('x-accel-buffering', 'no');
      return streamSSE(c, async (stream) => {
        const client = new AbortController();
        stream.onAbort(() => client.abort());
        const signal = AbortSignal.any([client.signal, deps.shutdown]);
        let written = start.cursor;
        try {
          if (start.kind !== 'resumed') await stream.write(frame(start.kind === 'reset' ? 'reset' : 'ready', start.cursor, { cursor: start.cursor }));
          while (!signal.aborted) {
            await out.wait(heartbeatMs, signal);
            if (signal.aborted) break;
            const next = out.take();
            if (next !== undefined) {
              await stream.write(next.text);
              written = next.id;
              continue;
            }
            // A comment keeps proxies from closing the connection; an id-only block moves the
            // client's Last-Event-ID past changes its filters left out.
            const moved = out.position !== undefined && out.position !== written;
            await stream.write(`: keep-alive\n${moved ? `id: ${out.position}\n` : ''}\n`);
            if (moved) written = out.position!;
          }
        } catch (e) {
          // A client that went away mid-write is not an error.
          if (!signal.aborted && !stream.aborted) throw e;
        } finally {
          unsubscribe();
        }
      });
    },
  }),
];
