import type { Command } from 'commander';
import { migrateToLatest, openDatabase, resetDatabase } from '../../store/db.js';
import { configFrom, type GlobalOptions } from '../context.js';
import { parseDuration } from '../../core/retry.js';
import { HomeLayout } from '../../scheduler/paths.js';
import { cleanOldRuns } from '../../store/retention.js';
import { Store } from '../../store/store.js';
import { UsageError } from '../format.js';

export function registerDbCommands(program: Command, globals: () => GlobalOptions): void {
  const db = program.command('db').description('the metadata database');
  const withDb = async (fn: (opened: Awaited<ReturnType<typeof openDatabase>>) => Promise<void>) => {
    const config = configFrom(globals());
    const opened = await openDatabase({ url: config.databaseUrl });
    try {
      await fn(opened);
    } finally {
      await opened.close();
    }
  };
  db.command('migrate')
    .description('apply pending schema migrations')
    .action(() =>
      withDb(async (opened) => {
        const applied = await migrateToLatest(opened.db);
        process.stdout.write(`database ${opened.description} is at ${applied[applied.length - 1] ?? '(empty)'}\n`);
      }),
    );
  db.command('clean')
    .description('delete finished runs older than an age, with their tries, metrics and logs, in batches')
    .requiredOption('--older-than <age>', 'e.g. 90d, 12h')
    .option('--dry-run', 'count what would be deleted')
    .option('--batch <n>', 'runs per batch', '500')
    .action((o: { olderThan: string; dryRun?: boolean; batch: string }) => {
      const age = parseDuration(o.olderThan);
      const config = configFrom(globals());
      const layout = new HomeLayout(config.home);
      return withDb(async (opened) => {
        const r = await cleanOldRuns(new Store(opened.db, opened.dialect), {
          before: Date.now() - age,
          batchSize: Number(o.batch),
          dryRun: o.dryRun === true,
          logDirOf: (dagId, runId) => layout.runLogDir(dagId, runId),
        });
        process.stdout.write(o.dryRun ? `${r.runs} run(s) would be deleted\n` : `deleted ${r.runs} run(s) in ${r.batches} batch(es), ${r.logDirsRemoved} log folder(s)\n`);
      });
    });
  db.command('reset')
    .description('delete every run, task instance and DAG record, then migrate again')
    .option('--yes', 'do not ask')
    .action((o: { yes?: boolean }) => {
      if (!o.yes) throw new UsageError('db reset deletes all metadata; pass --yes to confirm');
      return withDb(async (opened) => {
        await resetDatabase(opened.db);
        process.stdout.write(`database ${opened.description} reset\n`);
      });
    });
}
