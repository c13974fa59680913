/**
 * A try's log: the tail read by range, then followed live over server-sent events while the
 * try runs. Search highlights matches, or shows only the matching lines. Keeps the last
 * MAX_CHARS in memory, so a huge log cannot freeze the page.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../../api/endpoints.js';

const TAIL_BYTES = 256 * 1024;
const MAX_CHARS = 2 * 1024 * 1024;
const MAX_LINES_SHOWN = 5000;

export function LogTail({ dagId, runId, taskId, mapIndex, tryNumber, live }: { dagId: string; runId: string; taskId: string; mapIndex: number; tryNumber: number; live: boolean }) {
  const [text, setText] = useState('');
  const [truncatedFrom, setTruncatedFrom] = useState(0);
  const [status, setStatus] = useState<'loading' | 'following' | 'ended' | 'error'>('loading');
  const [error, setError] = useState<string>();
  const [query, setQuery] = useState('');
  const [onlyMatches, setOnlyMatches] = useState(false);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let stopped = false;
    let es: EventSource | undefined;
    setText('');
    setStatus('loading');
    setError(undefined);
    const append = (t: string) =>
      setText((old) => {
        const next = old + t;
        return next.length > MAX_CHARS ? next.slice(next.length - MAX_CHARS) : next;
      });
    (async () => {
      // The size first, then the tail of the log.
      const head = await api.log(dagId, runId, taskId, mapIndex, tryNumber, 0, 1);
      const start = Math.max(0, head.size - TAIL_BYTES);
      setTruncatedFrom(start);
      let offset = start;
      let finished = head.finished;
      for (let first = true; ; first = false) {
        const c = await api.log(dagId, runId, taskId, mapIndex, tryNumber, offset, TAIL_BYTES);
        if (stopped) return;
        // A tail that starts mid-line: drop the partial first line.
        append(first && start > 0 ? c.text.slice(c.text.indexOf('\n') + 1) : c.text);
        offset = c.next_offset;
        finished = c.finished;
        if (c.next_offset >= c.size || c.text === '') break;
      }
      if (finished) {
        setStatus('ended');
        return;
      }
      if (stopped) return;
      setStatus('following');
      es = new EventSource(api.logStreamUrl(dagId, runId, taskId, mapIndex, tryNumber, offset));
      es.addEventListener('log', (e) => {
        const d = JSON.parse((e as MessageEvent).data) as { text: string };
        append(d.text);
      });
      es.addEventListener('end', () => {
        es?.close();
        setStatus('ended');
      });
      es.onerror = () => {
        // The browser reconnects with Last-Event-ID; a closed stream after the end is normal.
        if (es?.readyState === EventSource.CLOSED) setStatus((s) => (s === 'ended' ? s : 'error'));
      };
    })().catch((e: Error) => {
      if (!stopped) {
        setStatus('error');
        setError(e.message);
      }
    });
    return () => {
      stopped = true;
      es?.close();
    };
    // `live` flips when the try ends; the stream ends itself then.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dagId, runId, taskId, mapIndex, tryNumber]);

  const { lines, matches } = useMemo(() => {
    let all = text.split('\n');
    if (all.length && all[all.length - 1] === '') all = all.slice(0, -1);
    const q = query.toLowerCase();
    const numbered = all.map((l, i) => ({ n: i + 1, l }));
    const hit = q ? numbered.filter((x) => x.l.toLowerCase().includes(q)) : [];
    const shown = onlyMatches && q ? hit : numbered;
    return { lines: shown.slice(-MAX_LINES_SHOWN), matches: hit.length };
  }, [text, query, onlyMatches]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  return (
    <div className="log">
      <div className="log-tools">
        <input type="search" placeholder="Search the log…" aria-label="search the log" value={query} onChange={(e) => setQuery(e.target.value)} />
        {query && (
          <span className="small muted" role="status">
            {matches.toLocaleString()} matching line{matches === 1 ? '' : 's'}
          </span>
        )}
        <label className="check small">
          <input type="checkbox" checked={onlyMatches} onChange={(e) => setOnlyMatches(e.target.checked)} /> only matching lines
        </label>
        <label className="check small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
        </label>
        <span className={`log-status ${status}`} data-testid="log-status">
          {status === 'following' ? '● live' : status === 'ended' ? 'complete' : status === 'loading' ? 'loading…' : 'disconnected'}
        </span>
      </div>
      {truncatedFrom > 0 && <div className="small muted">Showing the last {Math.round(TAIL_BYTES / 1024)} KB of the log.</div>}
      {error && <div className="error-box">{error}</div>}
      <pre
        className="log-box"
        ref={box}
        tabIndex={0}
        onScroll={(e) => {
          // Scrolling up stops following; scrolling back to the bottom resumes it.
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          if (atBottom !== follow) setFollow(atBottom);
        }} aria-label="log" data-testid="log" aria-live={live ? 'off' : undefined}>
        {lines.length === 0 && status !== 'loading' ? <span className="muted">(the log is empty)</span> : null}
        {lines.map((x) => (
          <div key={x.n} className={/error|traceback|exception|fatal/i.test(x.l) ? 'log-line err' : x.l.includes('::trainyard::') ? 'log-line meta' : 'log-line'}>
            <span className="ln" aria-hidden="true">
              {x.n}
            </span>
            <Highlight text={x.l} q={query} />
          </div>
        ))}
      </pre>
    </div>
  );
}

function Highlight({ text, q }: { text: string; q: string }) {
  if (!q) return <>{text}</>;
  const out: (string | React.JSX.Element)[] = [];
  const lower = text.toLowerCase();
  const ql = q.toLowerCase();
  let i = 0;
  let k = 0;
  for (;;) {
    const j = lower.indexOf(ql, i);
    if (j < 0) break;
    out.push(text.slice(i, j));
    out.push(<mark key={k++}>{text.slice(j, j + q.length)}</mark>);
    i = j + q.length;
  }
  out.push(text.slice(i));
  return <>{out}</>;
}
