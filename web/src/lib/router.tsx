/** A small history router: the URL is the state; `navigate` pushes, `Link` is a real link. */
import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((fn) => fn());
window.addEventListener('popstate', notify);

function subscribe(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

const snapshot = () => window.location.pathname + window.location.search;

export function useLocation(): { path: string; search: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const u = new URL(href, window.location.origin);
  return { path: u.pathname, search: u.searchParams };
}

export function navigate(to: string, o: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (o.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  notify();
}

/** Sets query parameters of the current URL (undefined removes one), replacing the history entry. */
export function setSearch(params: Record<string, string | undefined>, o: { replace?: boolean } = { replace: true }): void {
  const u = new URL(window.location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') u.searchParams.delete(k);
    else u.searchParams.set(k, v);
  }
  navigate(u.pathname + u.search, o);
}

export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** Matches `/dags/:dag/runs/:run` against a path; segments are decoded. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

export const href = {
  dags: () => '/',
  dag: (dagId: string, tab?: string) => `/dags/${encodeURIComponent(dagId)}${tab ? `?tab=${tab}` : ''}`,
  run: (dagId: string, runId: string, task?: string) =>
    `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}${task ? `?task=${encodeURIComponent(task)}` : ''}`,
  ti: (dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber?: number) =>
    `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/${mapIndex}${tryNumber ? `?try=${tryNumber}` : ''}`,
};

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Trainyard`;
  }, [title]);
}
