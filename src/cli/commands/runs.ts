import type { Command } from 'commander';
import type { RunState } from '../../core/states.js';
import { markRun } from '../../scheduler/operations.js';
import { type GlobalOptions, withRuntime } from '../context.js';
import { isoOrNull, printJson, printTable, UsageError } from '../format.js';
import { callApi, remoteOf } from '../remote.js';

export function registerRunCommands(program: Command, globals: () => GlobalOptions): void {
  const runs = program.command('runs').description('DAG runs');
  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--dag <dag_id>', 'only this DAG')
    .option('--state <state>', 'only runs in this state (queued, running, success, failed)')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable output')
    .action((o: { dag?: string; state?: RunState; limit: string; json?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const rows = (await rt.store.listRuns({ dagId: o.dag, states: o.state ? [o.state] : undefined, limit: Number(o.limit) })).map((r) => ({
          dag_id: r.dag_id,
          run_id: r.run_id,
          state: r.state,
          run_type: r.run_type,
          logical_date: isoOrNull(r.logical_date),
          start_date: isoOrNull(r.start_date),
          end_date: isoOrNull(r.end_date),
          conf: JSON.parse(r.conf),
        }));
        if (o.json) printJson(rows);
        else printTable(rows, ['dag_id', 'run_id', 'state', 'start_date', 'end_date']);
      }),
    );
  runs
    .command('mark')
    .argument('<dag_id>')
    .argument('<run_id>')
    .argument('<state>', 'success or failed')
    .description('mark a run success or failed; its unfinished tasks end with it')
    .action(async (dagId: string, runId: string, state: string) => {
      if (state !== 'success' && state !== 'failed') throw new UsageError(`state must be success or failed, not '${state}'`);
      const remote = remoteOf(globals());
      if (remote) await callApi(remote, 'PATCH', `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}`, { state });
      else await withRuntime(globals(), (rt) => markRun(rt.store, dagId, runId, state, Date.now()));
      process.stdout.write(`run ${runId} marked ${state}\n`);
    });
}
