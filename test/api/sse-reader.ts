/** Reads server-sent events from a streaming fetch response, as a browser's EventSource would parse them. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

export class NoEvent extends Error {}

export class SseReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  /** Blocks without data: comments (heartbeats), possibly with an id. */
  comments = 0;
  /** The last id seen, as EventSource's lastEventId. */
  lastEventId: string | undefined;

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The next event, or undefined when the stream has ended. */
  async next(timeoutMs = 10_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        let event = 'message';
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const [k, v] = i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
          if (k === 'event') event = v;
          else if (k === 'data') data.push(v);
          else if (k === 'id') id = v;
        }
        if (id !== undefined) this.lastEventId = id;
        if (data.length === 0) {
          this.comments++;
          continue;
        }
        return { event, data: data.join('\n'), id };
      }
      if (Date.now() >= deadline) throw new NoEvent(`no event within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buffer)}`);
      // A read still pending after a timeout is kept for the next call: its chunk is not lost.
      this.pending ??= this.reader.read();
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([this.pending, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(1, deadline - Date.now()))))]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      this.pending = undefined;
      if (chunk.done) return undefined;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Events until `until` matches one (included). */
  async until(until: (e: SseEvent) => boolean, timeoutMs = 20_000): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.next(Math.max(1, deadline - Date.now()));
      if (!e) throw new Error(`the stream ended after ${JSON.stringify(out)}`);
      out.push(e);
      if (until(e)) return out;
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}
