/** A sweep's trials: params and final metrics, sortable by any column; the best row marked. */
import { useMemo, useState } from 'react';
import type { SweepTrials, TrialRow } from '../../api/ml.js';
import { StateBadge } from '../../components/bits.js';
import { lineColor } from '../../components/LineCanvas.js';
import { formatValue } from '../../lib/chart-scale.js';
import { duration } from '../../lib/format.js';
import { Link, href } from '../../lib/router.js';

type Key = { kind: 'index' | 'state' | 'duration' } | { kind: 'param' | 'metric'; name: string };

function valueOf(r: TrialRow, k: Key): unknown {
  switch (k.kind) {
    case 'index':
      return r.map_index;
    case 'state':
      return r.state;
    case 'duration':
      return r.duration_ms;
    case 'param':
      return r.params[k.name];
    case 'metric':
      return r.final[k.name];
  }
}

/** Numbers before strings, missing values last whatever the order. */
function compare(a: unknown, b: unknown): number {
  const missing = (v: unknown) => v === undefined || v === null;
  if (missing(a) || missing(b)) return missing(a) === missing(b) ? 0 : missing(a) ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return JSON.stringify(a).localeCompare(JSON.stringify(b));
}

const keyId = (k: Key) => ('name' in k ? `${k.kind}:${k.name}` : k.kind);

export function TrialsTable({ dagId, runId, data, highlight, onPick }: { dagId: string; runId: string; data: SweepTrials; highlight?: number; onPick: (id: number) => void }) {
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>(() =>
    data.objective ? { key: { kind: 'metric', name: data.objective }, desc: data.direction === 'max' } : { key: { kind: 'index' }, desc: false },
  );
  const rows = useMemo(() => {
    const out = [...data.trials].sort((a, b) => {
      const c = compare(valueOf(a, sort.key), valueOf(b, sort.key));
      const missing = valueOf(a, sort.key) === undefined || valueOf(b, sort.key) === undefined;
      return (sort.desc && !missing ? -c : c) || a.map_index - b.map_index;
    });
    return out;
  }, [data.trials, sort]);
  const header = (k: Key, label: string) => {
    const on = keyId(k) === keyId(sort.key);
    return (
      <th scope="col" key={keyId(k)} aria-sort={on ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
        <button type="button" className="sort" onClick={() => setSort({ key: k, desc: on ? !sort.desc : false })}>
          {label} {on ? (sort.desc ? '▼' : '▲') : ''}
        </button>
      </th>
    );
  };
  return (
    <table className="table compact trials-table" data-testid="trials-table">
      <thead>
        <tr>
          {header({ kind: 'index' }, 'Trial')}
          {header({ kind: 'state' }, 'State')}
          {data.params.map((p) => header({ kind: 'param', name: p }, p))}
          {data.metrics.map((m) => header({ kind: 'metric', name: m }, m === data.objective ? `${m} ★` : m))}
          {header({ kind: 'duration' }, 'Duration')}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.map_index} data-map-index={r.map_index} className={r.map_index === highlight ? 'picked' : undefined} onClick={() => onPick(r.map_index)}>
            <td>
              <span className="swatch" style={{ background: lineColor(r.map_index) }} aria-hidden="true" />
              <Link to={href.ti(dagId, runId, data.task_id, r.map_index)} className="mono">
                [{r.map_index}]
              </Link>
              {data.best?.map_index === r.map_index && <span className="chip small">best</span>}
            </td>
            <td>
              <StateBadge state={r.state} />
            </td>
            {data.params.map((p) => (
              <td key={p} className="mono small">
                {r.params[p] === undefined ? '—' : typeof r.params[p] === 'number' ? formatValue(r.params[p] as number) : JSON.stringify(r.params[p])}
              </td>
            ))}
            {data.metrics.map((m) => (
              <td key={m} className="mono small" data-metric={m}>
                {r.final[m] === undefined ? '—' : formatValue(r.final[m])}
              </td>
            ))}
            <td className="small">{duration(r.duration_ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
