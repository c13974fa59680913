/** The model registry: every model with its latest version and aliases. */
import { mlApi } from '../../api/ml.js';
import { Empty, ErrorBox, Loading } from '../../components/bits.js';
import { time } from '../../lib/format.js';
import { Link, useTitle } from '../../lib/router.js';
import { useQuery } from '../../lib/use-query.js';
import './ml.css';

export const modelHref = (name: string, version?: number) => `/models/${encodeURIComponent(name)}${version ? `?version=${version}` : ''}`;

export function ModelsPage() {
  useTitle('Models');
  const q = useQuery('models', () => mlApi.models(), { live: {} });
  return (
    <section>
      <h1>Models</h1>
      <p className="muted">Registered models: each version keeps its artifact URI, metrics, params and the run that made it. Aliases such as production point at one version.</p>
      <ErrorBox error={q.error} />
      {!q.data && !q.error && <Loading what="models" />}
      {q.data && q.data.items.length === 0 && (
        <Empty>
          No model is registered yet. Register one from a task with <code>registry-task register</code> or <code>trainyard models register</code>.
        </Empty>
      )}
      {q.data && q.data.items.length > 0 && (
        <table className="table" data-testid="models-table">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Versions</th>
              <th scope="col">Latest</th>
              <th scope="col">Aliases</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((m) => (
              <tr key={m.name} data-model={m.name}>
                <td>
                  <Link to={modelHref(m.name)} className="dag-link mono">
                    {m.name}
                  </Link>
                  {m.description && <div className="muted small">{m.description}</div>}
                </td>
                <td>{m.versions}</td>
                <td>{m.latest_version === null ? '—' : `v${m.latest_version}`}</td>
                <td>
                  {Object.entries(m.aliases).map(([a, v]) => (
                    <span key={a} className="chip alias-chip">
                      {a} → v{v}
                    </span>
                  ))}
                </td>
                <td className="small">{time(m.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
