/** On a cached task instance's page: it did not run, and which earlier try its result came from, as a link. */
import type { CachedFrom } from '../../api/types.js';
import { Link, href } from '../../lib/router.js';

export function CachedFromBox({ from }: { from: CachedFrom | null | undefined }) {
  const label = from ? `${from.dag_id} / ${from.run_id} / ${from.task_id}${from.map_index >= 0 ? `[${from.map_index}]` : ''}, try ${from.try_number}` : null;
  return (
    <div className="banner info cached-from" role="status" data-testid="cached-from">
      <strong>Cached: </strong>
      this instance did not run. It succeeded with the result of an earlier try with the same cache key
      {from && label ? (
        <>
          {': '}
          <Link to={href.ti(from.dag_id, from.run_id, from.task_id, from.map_index, from.try_number)} className="mono" data-testid="cached-from-link">
            {label}
          </Link>
          .
          <dl className="kv small">
            <div>
              <dt>Cache key</dt>
              <dd className="mono">{from.cache_key}</dd>
            </div>
            <div>
              <dt>Artifacts</dt>
              <dd className="mono">{from.artifacts_uri}</dd>
            </div>
          </dl>
        </>
      ) : (
        '.'
      )}
    </div>
  );
}
