import { useEffect } from 'react';
import { api } from '../api/endpoints.js';
import { Empty, ErrorBox, Loading } from '../components/bits.js';
import { time } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useQuery } from '../lib/use-query.js';

export function ImportErrors() {
  useTitle('Import errors');
  const q = useQuery('import-errors', () => api.importErrors(), { live: { on: ['import_errors'] } });
  useEffect(() => {
    if (!q.data || !window.location.hash) return;
    const el = document.getElementById(window.location.hash.slice(1));
    el?.scrollIntoView();
    el?.focus();
  }, [q.data]);
  return (
    <section>
      <h1>Import errors</h1>
      <p className="muted">DAG files that failed to load. The other files still load; fix these and they are picked up within a second or two.</p>
      <ErrorBox error={q.error} />
      {!q.data && !q.error && <Loading />}
      {q.data && q.data.items.length === 0 && <Empty>Every DAG file loaded.</Empty>}
      {q.data?.items.map((e, i) => (
        <article key={e.fileloc} id={`import-error-${i}`} className="card import-error" tabIndex={-1}>
          <h2 className="mono">{e.fileloc}</h2>
          <div className="muted small">since {time(e.updated_at)}</div>
          <pre className="code">{e.message}</pre>
        </article>
      ))}
    </section>
  );
}
