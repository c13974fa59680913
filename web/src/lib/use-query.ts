/** Loads data for a component, keeps the last answer while refetching, and refetches on live changes. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { type LiveScope, subscribeLive } from './live.js';
import { parseScopeKey, scopeKey as keyOfScope } from './live-match.js';

export interface QueryState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

export interface QueryOptions<T> {
  /** Refetch on live changes in this scope (which DAG, run and kinds of change). */
  live?: LiveScope;
  /** Whether the data is still changing (polls faster without an event stream). */
  active?: (data: T | undefined) => boolean;
  enabled?: boolean;
  /** Show the previous key's data while the new key loads (default true: no flicker on page or state changes). */
  keepPrevious?: boolean;
}

export function useQuery<T>(key: string, fetcher: (signal: AbortSignal) => Promise<T>, o: QueryOptions<T> = {}): QueryState<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: Error; loading: boolean }>({ key, loading: true });
  const inFlight = useRef<AbortController | null>(null);
  /** A refresh asked for while a fetch was in flight: its answer may predate the change. */
  const again = useRef(false);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const dataRef = useRef<T | undefined>(undefined);
  const activeRef = useRef(o.active);
  activeRef.current = o.active;
  const enabled = o.enabled !== false;
  const keep = o.keepPrevious !== false;

  const load = useCallback(
    (force: boolean) => {
      // Never overlap a query with itself; fetch once more after the one in flight instead.
      if (inFlight.current && !force) {
        again.current = true;
        return;
      }
      again.current = false;
      inFlight.current?.abort();
      const ctl = new AbortController();
      inFlight.current = ctl;
      fetcherRef.current(ctl.signal).then(
        (data) => {
          if (ctl.signal.aborted) return;
          inFlight.current = null;
          dataRef.current = data;
          setState({ key, data, loading: false });
          if (again.current) load(false);
        },
        (error: Error) => {
          if (ctl.signal.aborted) return;
          inFlight.current = null;
          setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, loading: false }));
        },
      );
    },
    [key],
  );

  useEffect(() => {
    if (!enabled) return;
    dataRef.current = undefined;
    setState((s) => (s.key === key ? { ...s, loading: true } : { key, data: keep ? s.data : undefined, loading: true }));
    load(true);
    return () => {
      inFlight.current?.abort();
      inFlight.current = null;
    };
  }, [key, load, enabled, keep]);

  const scopeKey = keyOfScope(o.live);
  useEffect(() => {
    if (scopeKey === undefined || !enabled) return;
    return subscribeLive(
      parseScopeKey(scopeKey),
      () => activeRef.current?.(dataRef.current) ?? false,
      () => load(false),
    );
  }, [scopeKey, load, enabled]);

  const same = state.key === key;
  const data = same || keep ? state.data : undefined;
  return { data, error: same ? state.error : undefined, loading: !same || state.loading, reload: () => load(true) };
}
