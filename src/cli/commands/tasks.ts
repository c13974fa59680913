import fs from 'node:fs';
import type { Command } from 'commander';
import { TrainyardError } from '../../core/errors.js';
import { describeFailure, type FailureClass } from '../../core/failure.js';
import { clearTasks, markTask } from '../../scheduler/operations.js';
import type { Store } from '../../store/store.js';
import { type GlobalOptions, withRuntime } from '../context.js';
import { isoOrNull, printJson, printTable, UsageError } from '../format.js';
import { callApi, remoteOf } from '../remote.js';
import { isShippedOnly, writeTryLog } from '../../api/try-log.js';

export function registerTaskCommands(program: Command, globals: () => GlobalOptions): void {
  const tasks = program.command('tasks').description('task instances of a run: list, logs, clear, mark');

  tasks
    .command('list')
    .argument('<dag_id>')
    .argument('<run_id>')
    .option('--state <state>', 'only instances in this state')
    .option('--json', 'machine-readable output')
    .action((dagId: string, runId: string, o: { state?: string; json?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const rows = (await rt.store.listTaskInstances(dagId, runId, { states: o.state ? [o.state as never] : undefined }))
          .filter((r) => r.state !== 'removed')
          .map((r) => ({
            task_id: r.task_id,
            map_index: r.map_index,
            state: r.state,
            try_number: r.try_number,
            start_date: isoOrNull(r.start_date),
            end_date: isoOrNull(r.end_date),
            failure_class: r.failure_class,
            reason: r.reason,
            result: r.result === null ? null : JSON.parse(r.result),
          }));
        if (o.json) printJson(rows);
        else
          printTable(
            rows.map((r) => ({ ...r, why: r.failure_class ? `${describeFailure(r.failure_class as FailureClass)}: ${(r.reason ?? '').split('\n')[0]}` : (r.reason ?? '') })),
            ['task_id', 'map_index', 'state', 'try_number', 'why'],
          );
      }),
    );

  tasks
    .command('logs')
    .argument('<dag_id>')
    .argument('<run_id>')
    .argument('<task_id>')
    .option('--map-index <n>', 'instance of a mapped task', '-1')
    .option('--try <n>', 'try number (default: the latest)')
    .option('-f, --follow', 'keep printing until the try ends')
    .action((dagId: string, runId: string, taskId: string, o: { mapIndex: string; try?: string; follow?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const key = { dagId, runId, taskId, mapIndex: Number(o.mapIndex) };
        const tries = await rt.store.listTries(key);
        if (!tries.length) throw new TrainyardError('TRY_NOT_FOUND', `${taskId}[${key.mapIndex}] of run ${runId} has not run yet`);
        const chosen = o.try ? tries.find((t) => t.try_number === Number(o.try)) : tries[tries.length - 1];
        if (!chosen) throw new UsageError(`no try ${o.try}; tries: ${tries.map((t) => t.try_number).join(', ')}`);
        // An ended try whose local log is gone: its copy in the remote log store.
        if (await isShippedOnly(chosen)) return writeTryLog(chosen, rt.config.remoteLogs, process.stdout);
        await printLog(rt.store, chosen.log_path, o.follow ? { ...key, tryNumber: chosen.try_number } : undefined);
      }),
    );

  tasks
    .command('clear')
    .argument('<dag_id>')
    .argument('<run_id>')
    .argument('[task_ids...]', 'tasks to clear (default: all)')
    .option('--downstream', 'also clear everything downstream')
    .option('--only-failed', 'only tasks that failed')
    .description('run task instances again')
    .action(async (dagId: string, runId: string, taskIds: string[], o: { downstream?: boolean; onlyFailed?: boolean }) => {
      const remote = remoteOf(globals());
      const cleared = remote
        ? ((await callApi<{ cleared: string[] }>(remote, 'POST', `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}/clear`, {
            ...(taskIds.length ? { task_ids: taskIds } : {}),
            downstream: o.downstream === true,
            only_failed: o.onlyFailed === true,
          })).cleared ?? [])
        : await withRuntime(globals(), (rt) => clearTasks(rt.store, dagId, runId, taskIds, o, Date.now()));
      process.stdout.write(cleared.length ? `cleared ${cleared.join(', ')}\n` : 'nothing to clear\n');
    });

  tasks
    .command('mark')
    .argument('<dag_id>')
    .argument('<run_id>')
    .argument('<task_id>')
    .argument('<state>', 'success or failed')
    .option('--map-index <n>', 'one instance of a mapped task')
    .action(async (dagId: string, runId: string, taskId: string, state: string, o: { mapIndex?: string }) => {
      if (state !== 'success' && state !== 'failed') throw new UsageError(`state must be success or failed, not '${state}'`);
      const remote = remoteOf(globals());
      if (remote) {
        const path = `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}/taskInstances/${encodeURIComponent(taskId)}/${o.mapIndex ?? -1}`;
        await callApi(remote, 'PATCH', path, { state });
        process.stdout.write(`marked ${taskId} ${state}\n`);
        return;
      }
      await withRuntime(globals(), async (rt) => {
        const n = await markTask(rt.store, { dagId, runId, taskId, mapIndex: o.mapIndex === undefined ? undefined : Number(o.mapIndex) }, state, Date.now());
        process.stdout.write(`marked ${n} instance(s) ${state}\n`);
      });
    });
}

/** Prints a log file; with a try to follow, keeps printing new lines until that try ends. */
async function printLog(store: Store, file: string, follow?: { dagId: string; runId: string; taskId: string; mapIndex: number; tryNumber: number }): Promise<void> {
  let offset = 0;
  const drain = () => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        process.stdout.write(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  drain();
  if (!follow) return;
  for (;;) {
    const t = (await store.listTries(follow)).find((x) => x.try_number === follow.tryNumber);
    const done = !t || (t.state !== 'queued' && t.state !== 'running');
    drain();
    if (done) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
