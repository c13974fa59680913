/**
 * The first requests of the page in the URL, started at once, in parallel with the session
 * check: a cold load then waits for one round trip less.
 */
import { prefetch, query } from '../api/client.js';
import { gridRunCount } from './grid-cells.js';
import { match } from './router.js';
import { prefetchSweep } from '../api/ml.js';

export function prefetchRoute(pathname: string, search: URLSearchParams): void {
  const enc = encodeURIComponent;
  let m: Record<string, string> | null;
  if ((m = match('/dags/:dagId/runs/:runId/sweeps/:taskId', pathname))) {
    prefetchSweep(m.dagId, m.runId, m.taskId, search);
    void import('../pages/ml/SweepPage.js');
    return;
  }
  if ((m = match('/dags/:dagId/runs/:runId', pathname))) {
    const base = `/dags/${enc(m.dagId)}/runs/${enc(m.runId)}`;
    prefetch(`/dags/${enc(m.dagId)}`);
    prefetch(base);
    prefetch(`${base}/taskInstances${query({ map_index: -1, limit: 1000 })}`);
    return;
  }
  if ((m = match('/dags/:dagId', pathname))) {
    prefetch(`/dags/${enc(m.dagId)}`);
    const tab = search.get('tab');
    if (!tab || tab === 'grid') prefetch(`/dags/${enc(m.dagId)}/grid${query({ limit: gridRunCount(search) })}`);
  }
}
