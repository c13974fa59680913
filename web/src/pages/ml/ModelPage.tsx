/**
 * One model: its versions (metrics, lineage links to the run, task and try that made each),
 * a metric comparison across versions, aliases with their history, the gate's decisions, and
 * promotion for operators.
 */
import { useState } from 'react';
import { mlApi, type ModelDetail, type ModelVersion } from '../../api/ml.js';
import { ErrorBox, Loading } from '../../components/bits.js';
import { formatValue } from '../../lib/chart-scale.js';
import { time } from '../../lib/format.js';
import { Link, href, setSearch, useLocation, useTitle } from '../../lib/router.js';
import { useSession } from '../../lib/session.js';
import { useQuery } from '../../lib/use-query.js';
import { MetricComparison } from './MetricComparison.js';
import { PromoteForm } from './PromoteForm.js';
import './ml.css';

function metricNames(d: ModelDetail): string[] {
  return [...new Set(d.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
}

function LineageCell({ v }: { v: ModelVersion }) {
  const l = v.lineage;
  if (!l.dag_id || !l.run_id) return <span className="muted">—</span>;
  return (
    <span className="small">
      <Link to={href.run(l.dag_id, l.run_id)} className="mono" data-testid="lineage-run">
        {l.dag_id} / {l.run_id}
      </Link>
      {l.task_id && (
        <>
          {' · '}
          <Link to={href.ti(l.dag_id, l.run_id, l.task_id, l.map_index ?? -1, l.try_number ?? undefined)} className="mono">
            {l.task_id}
            {l.map_index !== null && l.map_index >= 0 ? `[${l.map_index}]` : ''}
            {l.try_number ? ` #${l.try_number}` : ''}
          </Link>
        </>
      )}
      <div className="muted">
        {l.data_interval_start && l.data_interval_end ? `data ${l.data_interval_start.slice(0, 10)} → ${l.data_interval_end.slice(0, 10)}` : l.ds ? `ds ${l.ds}` : ''}
        {l.dag_version_hash ? ` · DAG ${l.dag_version_hash.slice(0, 8)}` : ''}
        {l.image_digest ? ` · ${l.image_digest.slice(0, 19)}` : ''}
      </div>
    </span>
  );
}

export function ModelPage({ name }: { name: string }) {
  useTitle(`${name} · Models`);
  const { canOperate } = useSession();
  const { search } = useLocation();
  const [tick, setTick] = useState(0);
  const q = useQuery(`model ${name} ${tick}`, () => mlApi.model(name), { live: {} });
  const selected = Number(search.get('version')) || undefined;
  if (q.error && !q.data) return <ErrorBox error={q.error} title={`Model ${name}`} />;
  if (!q.data) return <Loading what={`model ${name}`} />;
  const d = q.data;
  const metrics = metricNames(d);
  const versions = [...d.versions].sort((a, b) => b.version - a.version);
  return (
    <section data-testid="model-page">
      <div className="page-head">
        <nav className="crumbs" aria-label="breadcrumb">
          <Link to="/models">Models</Link> /
        </nav>
        <h1 className="mono">{d.name}</h1>
        {Object.entries(d.aliases).map(([a, v]) => (
          <span key={a} className="chip alias-chip" data-alias={a}>
            {a} → v{v}
          </span>
        ))}
      </div>
      {d.description && <p className="muted">{d.description}</p>}

      <h2>Versions</h2>
      <table className="table compact versions-table" data-testid="versions-table">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Aliases</th>
            {metrics.map((m) => (
              <th scope="col" key={m}>
                {m}
              </th>
            ))}
            <th scope="col">Made by</th>
            <th scope="col">Registered</th>
            <th scope="col">Artifact</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-version={v.version} className={v.version === selected ? 'picked' : undefined}>
              <td>
                <button type="button" className="link-button mono" onClick={() => setSearch({ version: String(v.version) })} aria-pressed={v.version === selected}>
                  v{v.version}
                </button>
                {v.archived && <span className="chip small">archived</span>}
              </td>
              <td>
                {v.aliases.map((a) => (
                  <span key={a} className="chip alias-chip small">
                    {a}
                  </span>
                ))}
              </td>
              {metrics.map((m) => (
                <td key={m} className="mono small" data-metric={m}>
                  {v.metrics[m] === undefined ? '—' : formatValue(v.metrics[m])}
                </td>
              ))}
              <td>
                <LineageCell v={v} />
              </td>
              <td className="small">
                {time(v.created_at)}
                <div className="muted">{v.created_by}</div>
              </td>
              <td className="mono small clamp" title={v.uri}>
                {v.uri}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {metrics.length > 0 && <MetricComparison versions={d.versions} metrics={metrics} aliases={d.aliases} />}

      {canOperate && (
        <div className="card">
          <h2>Promote</h2>
          <PromoteForm model={d} metrics={metrics} initialVersion={selected ?? versions[0]?.version} onDone={() => setTick((t) => t + 1)} />
        </div>
      )}

      <div className="sweep-grid">
        <div className="card">
          <h2>Alias history</h2>
          {d.history.length === 0 ? (
            <div className="muted small">No alias has been set.</div>
          ) : (
            <table className="table compact" data-testid="alias-history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Alias</th>
                  <th scope="col">Move</th>
                  <th scope="col">By</th>
                  <th scope="col">Note</th>
                </tr>
              </thead>
              <tbody>
                {[...d.history].reverse().map((h) => (
                  <tr key={h.seq}>
                    <td className="small">{time(h.at)}</td>
                    <td className="mono">{h.alias}</td>
                    <td className="small">
                      {h.from_version === null ? '—' : `v${h.from_version}`} → {h.to_version === null ? '—' : `v${h.to_version}`}
                    </td>
                    <td className="small">{h.actor}</td>
                    <td className="small">{h.note ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div className="card">
          <h2>Gate decisions</h2>
          {d.decisions.length === 0 ? (
            <div className="muted small">No gated promotion yet.</div>
          ) : (
            <table className="table compact" data-testid="decisions">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Version → alias</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {[...d.decisions].reverse().map((x) => (
                  <tr key={x.seq} data-decision={x.decision}>
                    <td className="small">{time(x.at)}</td>
                    <td className="mono small">
                      v{x.version} → {x.alias}
                    </td>
                    <td>
                      <span className={x.decision === 'promoted' ? 'chip on' : 'chip warn'}>{x.decision}</span>
                    </td>
                    <td className="small">{x.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}
