/** What a run used: CPU-, memory- and GPU-hours per task (a sweep is one row) with failed tries shown apart, and money when prices are configured. */
import { type CostRow, mlApi } from '../../api/ml.js';
import { ErrorBox, Loading } from '../../components/bits.js';
import { useQuery } from '../../lib/use-query.js';
import './ml.css';

/** Resource-hours in words: `2.1 core·s` for tiny amounts, `3.25 GiB·h` otherwise. */
const hours = (h: number, unit: string) => (h === 0 ? '0' : h < 0.01 ? `${Number((h * 3600).toPrecision(2))} ${unit}·s` : `${h.toFixed(h < 10 ? 2 : 1)} ${unit}·h`);

export function RunCostCard({ dagId, runId, active }: { dagId: string; runId: string; active: boolean }) {
  const q = useQuery(`run-cost ${dagId} ${runId}`, () => mlApi.runCost(dagId, runId), { live: { dagId, runId }, active: () => active });
  if (q.error && !q.data) return <ErrorBox error={q.error} title="Cost" />;
  if (!q.data) return <Loading what="cost" />;
  const c = q.data;
  const money = (v: number | undefined) => (v === undefined ? '' : `${v.toFixed(v < 1 ? 4 : 2)}${c.currency ? ` ${c.currency}` : ''}`);
  const row = (r: CostRow, total = false) => (
    <tr key={r.key} data-task={total ? undefined : r.key} className={total ? 'total' : undefined}>
      <td className={total ? undefined : 'mono'}>{total ? <strong>Total</strong> : r.key}</td>
      <td className="num">{r.tries}</td>
      <td className="num">{r.failed_tries ? <span className="failure">{r.failed_tries}</span> : 0}</td>
      <td className="num">{hours(r.cpu_hours, 'core')}</td>
      <td className="num">{hours(r.memory_gib_hours, 'GiB')}</td>
      <td className="num">{hours(r.gpu_hours, 'GPU')}</td>
      <td className="num">{hours(r.failed.cpu_hours, 'core')}</td>
      {c.priced && <td className="num">{money(r.cost)}</td>}
      {c.priced && <td className="num">{money(r.failed_cost)}</td>}
    </tr>
  );
  return (
    <div data-testid="run-cost">
      <p className="muted small">
        Resources each try asked for × its wall time; failed tries count, as they used the machine too.{' '}
        {c.priced ? '' : 'Set TRAINYARD_PRICES to see money as well.'}
      </p>
      <table className="table compact cost-table">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col" className="num">Tries</th>
            <th scope="col" className="num">Failed</th>
            <th scope="col" className="num">CPU</th>
            <th scope="col" className="num">Memory</th>
            <th scope="col" className="num">GPU</th>
            <th scope="col" className="num">CPU on failures</th>
            {c.priced && <th scope="col" className="num">Cost</th>}
            {c.priced && <th scope="col" className="num">Cost of failures</th>}
          </tr>
        </thead>
        <tbody>
          {c.by_task.map((r) => row(r))}
          {row(c.total, true)}
        </tbody>
      </table>
    </div>
  );
}
