import type { Command } from 'commander';
import { migrateToLatest, openDatabase, resetDatabase } from '../../store/db.js';
import { configFrom, type GlobalOptions } from '../context.js';
import { parseDuration } from '../../core/retry.js';
import { HomeLayout } from '../../scheduler/paths.js';
import { cleanOldOutboxRows, cleanOldRuns, DEFAULT_OUTBOX_RETENTION } from '../../store/retention.js';
import { Store } from '../../store/store.js';
import { positiveInt, UsageError } from '../format.js';

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
    .description('delete finished runs older than an age, with their tries, metrics and logs, and sent notifications, in batches')
    .requiredOption('--older-than <age>', 'finished runs older than this, e.g. 90d, 12h')
    .option('--outbox-older-than <age>', 'sent, failed and interrupted notifications older than this', DEFAULT_OUTBOX_RETENTION)
    .option('--dry-run', 'count what would be deleted')
    .option('--batch <n>', 'rows per batch', '500')
    .action((o: { olderThan: string; outboxOlderThan: string; dryRun?: boolean; batch: string }) => {
      const now = Date.now();
      const runsBefore = now - ageOption('--older-than', o.olderThan);
      const outboxBefore = now - ageOption('--outbox-older-than', o.outboxOlderThan);
      const batchSize = positiveInt('--batch', o.batch);
      const dryRun = o.dryRun === true;
      const layout = new HomeLayout(configFrom(globals()).home);
      return withDb(async (opened) => {
        const store = new Store(opened.db, opened.dialect);
        const logDirOf = (dagId: string, runId: string) => layout.runLogDir(dagId, runId);
        const r = await cleanOldRuns(store, { before: runsBefore, batchSize, dryRun, logDirOf });
        const outbox = await cleanOldOutboxRows(store, { before: outboxBefore, batchSize, dryRun });
        process.stdout.write(
          dryRun
            ? `${r.runs} run(s) and ${outbox} notification outbox row(s) would be deleted\n`
            : `deleted ${r.runs} run(s) in ${r.batches} batch(es), ${r.logDirsRemoved} log folder(s), ${outbox} notification outbox row(s)\n`,
        );
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

/** An age given for `option`, in milliseconds, or a usage error that names the option. */
function ageOption(option: string, raw: string): number {
  try {
    return parseDuration(raw);
  } catch (e) {
    throw new UsageError(`${option}: ${(e as Error).message}`);
  }
}
