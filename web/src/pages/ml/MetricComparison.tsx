/** One metric across a model's versions as bars, the best one marked. */
import { useState } from 'react';
import type { ModelVersion } from '../../api/ml.js';
import { formatValue } from '../../lib/chart-scale.js';

const LOWER_IS_BETTER = /loss|error|err$|mse|mae|rmse|perplexity|latency/i;

export function MetricComparison({ versions, metrics, aliases }: { versions: readonly ModelVersion[]; metrics: readonly string[]; aliases: Record<string, number> }) {
  const [metric, setMetric] = useState(metrics[0]);
  const m = metrics.includes(metric) ? metric : metrics[0];
  const rows = [...versions].filter((v) => v.metrics[m] !== undefined).sort((a, b) => a.version - b.version);
  const values = rows.map((v) => v.metrics[m]);
  const lo = Math.min(0, ...values);
  const hi = Math.max(...values);
  const lower = LOWER_IS_BETTER.test(m);
  const best = lower ? Math.min(...values) : Math.max(...values);
  const byVersion = Object.entries(aliases).reduce<Record<number, string[]>>((acc, [a, v]) => ((acc[v] ??= []).push(a), acc), {});
  return (
    <div className="card" data-testid="metric-comparison">
      <div className="card-head">
        <h2>Compare versions</h2>
        <select value={m} onChange={(e) => setMetric(e.target.value)} aria-label="metric to compare">
          {metrics.map((x) => (
            <option key={x}>{x}</option>
          ))}
        </select>
        <span className="muted small">{lower ? 'lower is better' : 'higher is better'}</span>
      </div>
      <div className="metric-bars" role="list">
        {rows.map((v) => (
          <div key={v.version} role="listitem" style={{ display: 'contents' }} data-version={v.version}>
            <span className="mono">
              v{v.version} {byVersion[v.version]?.map((a) => `(${a})`).join(' ')}
            </span>
            <span className="bar-track">
              <span className={v.metrics[m] === best ? 'bar-fill best' : 'bar-fill'} style={{ display: 'block', width: `${hi === lo ? 100 : ((v.metrics[m] - lo) / (hi - lo)) * 100}%` }} />
            </span>
            <span className="mono">{formatValue(v.metrics[m])}</span>
          </div>
        ))}
      </div>
    </div>
  );
}
