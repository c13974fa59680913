import { type Command } from 'commander';
import { TrainyardError } from '../../core/errors.js';
import { formatSweepSummary } from '../../sdk/sweep.js';
import { startSchedulerServices } from '../../app/runtime.js';
import { DagProcessor } from '../../dag-processing/processor.js';
import { migrateToLatest, openSqlite } from '../../store/db.js';
import { Store } from '../../store/store.js';
import { triggerRun } from '../../scheduler/trigger.js';
import { configFrom, type GlobalOptions, withRuntime } from '../context.js';
import { parseConf, printJson, printTable, isoOrNull, UsageError } from '../format.js';
import { backfill, BACKFILL_CONFIRM_ABOVE, type Reprocess } from '../../scheduler/backfill.js';
import { RunProgress } from '../progress.js';
import { waitForRun } from '../wait.js';
import { callApi, remoteOf } from '../remote.js';

type Opts = GlobalOptions & { json?: boolean; conf?: string; runId?: string };

export function registerDagCommands(program: Command, globals: () => GlobalOptions): void {
  const dags = program.command('dags').description('list, check, trigger and test DAGs');

  dags
    .command('list')
    .description('DAGs in the store (run the scheduler or standalone to parse the DAG folder)')
    .option('--json', 'machine-readable output')
    .action((o: Opts) =>
      withRuntime(globals(), async (rt) => {
        const rows = (await rt.store.listDags()).map((d) => ({
          dag_id: d.dag_id,
          paused: d.is_paused === 1,
          schedule: JSON.parse(d.schedule),
          tags: JSON.parse(d.tags),
          fileloc: d.fileloc,
          version: d.latest_version,
          next_run: isoOrNull(d.next_run_at),
        }));
        if (o.json) printJson(rows);
        else printTable(rows.map((r) => ({ ...r, schedule: r.schedule.kind === 'none' ? 'none' : (r.schedule.expression ?? `${r.schedule.everyMs}ms`), tags: r.tags.join(',') })), ['dag_id', 'paused', 'schedule', 'tags', 'fileloc']);
      }),
    );

  dags
    .command('list-import-errors')
    .description('DAG files that failed to load, with the reason')
    .option('--json', 'machine-readable output')
    .action((o: Opts) =>
      withRuntime(globals(), async (rt) => {
        const rows = (await rt.store.listImportErrors()).map((e) => ({ fileloc: e.fileloc, error: e.message, at: isoOrNull(e.updated_at) }));
        if (o.json) printJson(rows);
        else for (const r of rows) process.stdout.write(`${r.fileloc}\n  ${r.error.replaceAll('\n', '\n  ')}\n`);
      }),
    );

  dags
    .command('validate')
    .argument('[folder]', 'DAG folder (default: the configured one)')
    .description('load every DAG file and report errors, without touching the store; exits 1 if any file fails')
    .option('--json', 'machine-readable output')
    .action(async (folder: string | undefined, o: Opts) => {
      const config = configFrom({ ...globals(), dags: folder ?? globals().dags });
      const mem = openSqlite(':memory:');
      await migrateToLatest(mem.db);
      const store = new Store(mem.db, 'sqlite');
      const processor = new DagProcessor({ folder: config.dagsFolder, store, importTimeoutMs: config.dagImportTimeoutMs, scanIntervalMs: 1_000 });
      try {
        await processor.scanOnce();
        const dagRows = await store.listDags();
        const errors = await store.listImportErrors();
        if (o.json) printJson({ dags: dagRows.map((d) => ({ dag_id: d.dag_id, fileloc: d.fileloc })), errors: errors.map((e) => ({ fileloc: e.fileloc, error: e.message })) });
        else {
          for (const d of dagRows) process.stdout.write(`ok     ${d.dag_id} (${d.fileloc})\n`);
          for (const e of errors) process.stdout.write(`error  ${e.fileloc}\n       ${e.message.replaceAll('\n', '\n       ')}\n`);
        }
        if (errors.length) process.exitCode = 1;
      } finally {
        await processor.stop();
        await mem.close();
      }
    });

  dags
    .command('trigger')
    .argument('<dag_id>')
    .description('queue a run; a running scheduler or standalone picks it up')
    .option('--conf <json>', 'params for this run, as a JSON object')
    .option('--run-id <id>', 'run id (default manual__<time>)')
    .option('--json', 'machine-readable output')
    .action(async (dagId: string, o: Opts) => {
      const remote = remoteOf(globals());
      if (remote) {
        const run = await callApi<{ run_id: string; state: string }>(remote, 'POST', `/dags/${encodeURIComponent(dagId)}/runs`, { conf: parseConf(o.conf), ...(o.runId ? { run_id: o.runId } : {}) });
        if (o.json) printJson({ dag_id: dagId, run_id: run.run_id, state: run.state });
        else process.stdout.write(`queued run ${run.run_id} of ${dagId} on ${remote.url}\n`);
        return;
      }
      return withRuntime(globals(), async (rt) => {
        const { runId } = await triggerRun(rt.store, dagId, { conf: parseConf(o.conf), runId: o.runId, machines: Object.keys(rt.config.k8sMachines ?? {}) }, Date.now());
        if (o.json) printJson({ dag_id: dagId, run_id: runId, state: 'queued' });
        else process.stdout.write(`queued run ${runId} of ${dagId}\n`);
      });
    });

  for (const [name, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    dags
      .command(name)
      .argument('<dag_id>')
      .description(paused ? 'stop starting new runs of a DAG' : 'start runs of a DAG again')
      .action(async (dagId: string) => {
        const remote = remoteOf(globals());
        if (remote) await callApi(remote, 'PATCH', `/dags/${encodeURIComponent(dagId)}`, { is_paused: paused });
        else {
          await withRuntime(globals(), async (rt) => {
            if (!(await rt.store.setPaused(dagId, paused, Date.now()))) throw new TrainyardError('DAG_NOT_FOUND', `no DAG '${dagId}'; see \`trainyard dags list\``);
          });
        }
        process.stdout.write(`${dagId} ${paused ? 'paused' : 'unpaused'}\n`);
      });
  }

  dags
    .command('test')
    .argument('<dag_id>')
    .description('run one DAG run to completion in this process; exits non-zero if the run fails')
    .option('--conf <json>', 'params for this run, as a JSON object')
    .option('--json', 'print the final task states as JSON')
    .action((dagId: string, o: Opts) => testDag(dagId, o, globals()));
}

async function testDag(dagId: string, o: Opts, g: GlobalOptions): Promise<void> {
  const conf = parseConf(o.conf);
  await withRuntime(g, async (rt) => {
    const services = await startSchedulerServices(rt, { processDags: true, log: (l) => process.stderr.write(`${l}\n`) });
    try {
      const dag = await rt.store.getDag(dagId);
      if (!dag || dag.is_active !== 1) {
        const errors = await rt.store.listImportErrors();
        const hint = errors.length ? ` Import errors:\n${errors.map((e) => `  ${e.fileloc}: ${e.message.split('\n')[0]}`).join('\n')}` : '';
        throw new TrainyardError('DAG_NOT_FOUND', `no DAG '${dagId}' in ${rt.config.dagsFolder}.${hint}`);
      }
      const { runId } = await triggerRun(rt.store, dagId, { conf }, Date.now());
      services.scheduler.notify();
      const progress = new RunProgress(rt.store, dagId, runId, o.json ? process.stderr : process.stdout);
      const state = await waitForRun(rt.store, services.scheduler, dagId, runId, () => progress.update());
      await progress.update(true);
      const tis = await rt.store.listTaskInstances(dagId, runId);
      if (o.json) {
        printJson({
          dag_id: dagId,
          run_id: runId,
          state,
          tasks: tis.filter((t) => t.state !== 'removed').map((t) => ({ task_id: t.task_id, map_index: t.map_index, state: t.state, try_number: t.try_number, failure_class: t.failure_class, result: t.result === null ? null : JSON.parse(t.result) })),
        });
      } else {
        const run = await rt.store.getRun(dagId, runId);
        const spec = run && (await rt.store.getSpec(dagId, run.version_hash));
        for (const t of spec?.tasks ?? []) {
          const best = t.sweepBestOf !== undefined ? tis.find((ti) => ti.task_id === t.taskId && ti.result !== null) : undefined;
          if (best) process.stdout.write(`${formatSweepSummary(t.sweepBestOf!, JSON.parse(best.result!))}\n`);
        }
        process.stdout.write(`run ${runId}: ${state}\n`);
      }
      if (state !== 'success') process.exitCode = 1;
    } finally {
      await services.stop(0);
    }
  });
}

export function registerBackfillCommand(program: Command, globals: () => GlobalOptions): void {
  const dags = program.commands.find((c) => c.name() === 'dags')!;
  dags
    .command('backfill')
    .argument('<dag_id>')
    .description('create runs for every data interval whose logical date is in a range')
    .requiredOption('--from <date>', 'first logical date (ISO-8601, e.g. 2026-01-01)')
    .requiredOption('--to <date>', 'last logical date, inclusive')
    .option('--reprocess <what>', 'existing runs to run again: none, failed or completed', 'none')
    .option('--max-active-runs <n>', 'runs of this backfill at once', '4')
    .option('--reverse', 'newest interval first')
    .option('--dry-run', 'print the plan; change nothing')
    .option('--yes', `allow more than ${BACKFILL_CONFIRM_ABOVE} runs`)
    .option('--conf <json>', 'params for every run')
    .option('--json', 'machine-readable output')
    .action((dagId: string, o: { from: string; to: string; reprocess: string; maxActiveRuns: string; reverse?: boolean; dryRun?: boolean; yes?: boolean; conf?: string; json?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const date = (v: string, flag: string) => {
          const ms = Date.parse(/T/.test(v) ? v : `${v}T00:00:00Z`);
          if (Number.isNaN(ms)) throw new UsageError(`${flag} '${v}' is not a date; use ISO-8601 such as 2026-01-31`);
          return ms;
        };
        if (!['none', 'failed', 'completed'].includes(o.reprocess)) throw new UsageError(`--reprocess must be none, failed or completed, not '${o.reprocess}'`);
        const { id, plan } = await backfill(
          rt.store,
          {
            dagId,
            from: date(o.from, '--from'),
            to: date(o.to, '--to'),
            reprocess: o.reprocess as Reprocess,
            maxActiveRuns: Number(o.maxActiveRuns),
            reverse: o.reverse === true,
            dryRun: o.dryRun === true,
            confirmed: o.yes === true,
            conf: parseConf(o.conf),
          },
          Date.now(),
        );
        const rows = plan.map((p) => ({ logical_date: new Date(p.logicalDate).toISOString(), run_id: p.runId, action: p.action, existing_state: p.existingState ?? null }));
        if (o.json) printJson({ backfill_id: id ?? null, dry_run: o.dryRun === true, runs: rows });
        else {
          printTable(rows, ['logical_date', 'action', 'existing_state', 'run_id']);
          const n = plan.filter((p) => p.action !== 'skip').length;
          process.stdout.write(o.dryRun ? `dry run: ${n} run(s) would be queued\n` : `backfill ${id}: ${n} run(s) queued\n`);
        }
      }),
    );
}
