/** The DAG's source when the API serves it; until then, the stored spec: graph, params and settings. */
import { get, path } from '../../api/client.js';
import type { DagDetail } from '../../api/types.js';
import { useQuery } from '../../lib/use-query.js';

export function CodeView({ dag }: { dag: DagDetail }) {
  const source = useQuery(`source ${dag.dag_id} ${dag.latest_version}`, () => get<{ source: string; fileloc: string }>(path`/dags/${dag.dag_id}/source`).catch(() => null));
  const { graph, params_schema, ...rest } = dag;
  return (
    <div className="code-view">
      <div className="muted small">
        File <span className="mono">{dag.fileloc}</span> · version <span className="mono">{dag.latest_version}</span>
      </div>
      {source.data ? (
        <pre className="code" aria-label="DAG source">
          {source.data.source}
        </pre>
      ) : (
        <>
          <p className="muted small">The server does not serve DAG source files; this is the spec Trainyard stored for this version.</p>
          <pre className="code" aria-label="DAG spec">
            {JSON.stringify({ ...rest, params_schema, graph }, null, 2)}
          </pre>
        </>
      )}
    </div>
  );
}
