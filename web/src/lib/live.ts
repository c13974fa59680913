/**
 * Live updates over one EventSource for the whole page (`GET /api/v1/events`). A change
 * refreshes only the queries it touches (live-match.ts), coalesced: a burst of changes is one
 * refetch per query, at most one a second. When the stream drops it reconnects with backoff
 * (1 s doubling to 30 s), resuming after the last event it saw; meanwhile, and only then, the
 * page polls slowly: every 5 s for what is still running, every 30 s for the rest, never while
 * the tab is hidden. With the stream open an idle page makes no requests at all.
 */
import { backoffMs, CHANGE_KINDS, type Change, type ChangeKind, type LiveScope, refreshAt, touches } from './live-match.js';

export type { ChangeKind, LiveScope } from './live-match.js';

interface Subscriber {
  readonly scope: LiveScope;
  readonly active: () => boolean;
  readonly refresh: () => void;
  lastRun: number;
  /** When a change asked for a refresh that has not happened yet. */
  dueAt?: number;
}

export const FALLBACK_ACTIVE_POLL_MS = 5000;
export const FALLBACK_IDLE_POLL_MS = 30_000;
const EVENTS_URL = '/api/v1/events';

type Mode = 'connecting' | 'stream' | 'poll';
const subscribers = new Set<Subscriber>();
const modeListeners = new Set<() => void>();
let mode: Mode = 'connecting';
let lastEventId: string | undefined;
let attempt = 0;
let dropped = false;
let flushTimer: ReturnType<typeof setTimeout> | undefined;
let ticker: ReturnType<typeof setInterval> | undefined;

export function liveMode(): Mode {
  return mode;
}
export function onLiveMode(fn: () => void): () => void {
  modeListeners.add(fn);
  return () => modeListeners.delete(fn);
}
function setMode(m: Mode) {
  if (mode === m) return;
  mode = m;
  updateTicker();
  modeListeners.forEach((fn) => fn());
}

// ---- refreshes caused by changes -------------------------------------------------------

function schedule(s: Subscriber, now = Date.now()) {
  const at = refreshAt(now, s.lastRun);
  if (s.dueAt !== undefined && s.dueAt <= at) return;
  s.dueAt = at;
  armFlush();
}

function armFlush() {
  let next = Infinity;
  for (const s of subscribers) if (s.dueAt !== undefined && s.dueAt < next) next = s.dueAt;
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = next === Infinity ? undefined : setTimeout(flush, Math.max(0, next - Date.now()));
}

function flush() {
  flushTimer = undefined;
  // A hidden tab catches up when it is shown again.
  if (document.hidden) return;
  const now = Date.now();
  for (const s of subscribers) {
    if (s.dueAt === undefined || s.dueAt > now) continue;
    s.dueAt = undefined;
    s.lastRun = now;
    s.refresh();
  }
  armFlush();
}

function refreshAll() {
  for (const s of subscribers) schedule(s);
}

function onChange(kind: ChangeKind, e: MessageEvent<string>) {
  if (e.lastEventId) lastEventId = e.lastEventId;
  let data: { dag_id?: string; run_id?: string };
  try {
    data = JSON.parse(e.data) as typeof data;
  } catch {
    return;
  }
  const c: Change = { kind, dag_id: data.dag_id, run_id: data.run_id };
  for (const s of subscribers) if (touches(s.scope, c)) schedule(s);
}

// ---- the stream ------------------------------------------------------------------------

function connect() {
  const source = new EventSource(lastEventId ? `${EVENTS_URL}?last_event_id=${encodeURIComponent(lastEventId)}` : EVENTS_URL);
  source.onopen = () => {
    attempt = 0;
    setMode('stream');
  };
  for (const kind of CHANGE_KINDS) source.addEventListener(kind, (e) => onChange(kind, e as MessageEvent<string>));
  // `ready`: a fresh start. After a drop without a position to resume from, anything may have changed.
  source.addEventListener('ready', (e) => {
    const resumable = lastEventId !== undefined;
    lastEventId = (e as MessageEvent).lastEventId || lastEventId;
    if (dropped && !resumable) refreshAll();
    dropped = false;
  });
  // `reset`: the missed changes are gone (or the client fell behind): refetch everything.
  source.addEventListener('reset', (e) => {
    lastEventId = (e as MessageEvent).lastEventId || lastEventId;
    dropped = false;
    refreshAll();
  });
  source.onerror = () => {
    // Closed here and reopened on our own schedule: the browser's fixed retry would make
    // every open tab hammer a server that is restarting.
    source.close();
    dropped = true;
    setMode('poll');
    setTimeout(connect, backoffMs(attempt++));
  };
}

// ---- polling: only while disconnected, and for data that moves without state changes --

function tick() {
  if (document.hidden) return;
  const now = Date.now();
  for (const s of subscribers) {
    const active = s.active();
    let every = Infinity;
    if (mode !== 'stream') every = active ? FALLBACK_ACTIVE_POLL_MS : FALLBACK_IDLE_POLL_MS;
    if (active && s.scope.pollActiveMs) every = Math.min(every, s.scope.pollActiveMs);
    if (now - s.lastRun >= every - 100) {
      s.lastRun = now;
      s.refresh();
    }
  }
}

function updateTicker() {
  const needed = mode !== 'stream' || [...subscribers].some((s) => s.scope.pollActiveMs);
  if (needed && !ticker) ticker = setInterval(tick, 500);
  if (!needed && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

let started = false;
function start() {
  if (started) return;
  started = true;
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    flush();
    tick();
  });
  if (typeof EventSource === 'undefined') return setMode('poll');
  connect();
}

/** Calls `refresh` when a change in `scope` may have changed its data. Returns the unsubscribe. */
export function subscribeLive(scope: LiveScope, active: () => boolean, refresh: () => void): () => void {
  start();
  const s: Subscriber = { scope, active, refresh, lastRun: Date.now() };
  subscribers.add(s);
  updateTicker();
  return () => {
    subscribers.delete(s);
    updateTicker();
  };
}
