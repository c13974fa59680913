/**
 * Live updates. The UI listens to the API's state-change stream (`GET /api/v1/events`,
 * server-sent events) when the server has one, and refetches only the small, aggregated
 * queries a change touches. Without that stream it falls back to one gentle timer for the
 * whole page: every 2.5 s while something on screen is active, every 15 s otherwise, and
 * never while the tab is hidden. Queries never overlap themselves.
 */

export interface LiveScope {
  readonly dagId?: string;
  readonly runId?: string;
}

export interface ChangeEvent {
  readonly type: string;
  readonly dag_id?: string;
  readonly run_id?: string;
}

interface Subscriber {
  scope: LiveScope;
  active: () => boolean;
  refresh: () => void;
  lastRun: number;
}

export const ACTIVE_POLL_MS = 2500;
export const IDLE_POLL_MS = 15_000;

const subscribers = new Set<Subscriber>();
let mode: 'connecting' | 'stream' | 'poll' = 'connecting';
let timer: ReturnType<typeof setInterval> | undefined;
const modeListeners = new Set<() => void>();

export function liveMode(): typeof mode {
  return mode;
}
export function onLiveMode(fn: () => void): () => void {
  modeListeners.add(fn);
  return () => modeListeners.delete(fn);
}
function setMode(m: typeof mode) {
  mode = m;
  modeListeners.forEach((fn) => fn());
}

function matches(scope: LiveScope, ev: ChangeEvent): boolean {
  if (scope.dagId && ev.dag_id && scope.dagId !== ev.dag_id) return false;
  if (scope.runId && ev.run_id && scope.runId !== ev.run_id) return false;
  return true;
}

const pending = new Set<Subscriber>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;
/** Changes arrive in bursts (10k mapped instances finishing): coalesce them into one refetch per query. */
function schedule(s: Subscriber) {
  pending.add(s);
  flushTimer ??= setTimeout(() => {
    flushTimer = undefined;
    const now = Date.now();
    for (const p of pending) {
      p.lastRun = now;
      p.refresh();
    }
    pending.clear();
  }, 400);
}

function pollTick() {
  if (document.hidden) return;
  const now = Date.now();
  for (const s of subscribers) {
    const every = s.active() ? ACTIVE_POLL_MS : IDLE_POLL_MS;
    if (now - s.lastRun >= every - 100) {
      s.lastRun = now;
      s.refresh();
    }
  }
}

function startPolling() {
  setMode('poll');
  timer ??= setInterval(pollTick, 500);
}

let started = false;
function start() {
  if (started) return;
  started = true;
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) pollTick();
  });
  if (typeof EventSource === 'undefined') return startPolling();
  let opened = false;
  const es = new EventSource('/api/v1/events');
  es.onopen = () => {
    opened = true;
    setMode('stream');
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const onChange = (e: MessageEvent) => {
    let ev: ChangeEvent;
    try {
      ev = JSON.parse(e.data) as ChangeEvent;
    } catch {
      return;
    }
    for (const s of subscribers) if (matches(s.scope, ev)) schedule(s);
  };
  es.onmessage = onChange;
  for (const t of ['ti', 'run', 'dag', 'task']) es.addEventListener(t, onChange as EventListener);
  es.onerror = () => {
    // No stream on this server (404), or it went away: poll until a reconnect opens it again.
    if (!opened) es.close();
    opened = false;
    startPolling();
  };
}

/** Calls `refresh` when something in `scope` may have changed. Returns the unsubscribe. */
export function subscribeLive(scope: LiveScope, active: () => boolean, refresh: () => void): () => void {
  start();
  const s: Subscriber = { scope, active, refresh, lastRun: Date.now() };
  subscribers.add(s);
  return () => {
    subscribers.delete(s);
    pending.delete(s);
  };
}
