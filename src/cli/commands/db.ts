import type { Command } from 'commander';
import { migrateToLatest, openDatabase, resetDatabase } from '../../store/db.js';
import { configFrom, type GlobalOptions } from '../context.js';
import { parseDuration } from '../../core/retry.js';
import { HomeLayout } from '../../scheduler/paths.js';
import { RunLeftoverFiles } from '../../app/run-leftovers.js';
import { TrainyardError } from '../../core/errors.js';
import { type CleanResult, cleanOldOutboxRows, cleanOldRuns, DEFAULT_OUTBOX_RETENTION } from '../../store/retention.js';
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
    .description('delete finished runs older than an age, with their tries, metrics, local folders, remote logs and offloaded results, and sent notifications, in batches')
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
        const files = new RunLeftoverFiles(store, layout);
        let r: CleanResult;
        try {
          r = await cleanOldRuns(store, { before: runsBefore, batchSize, dryRun, files });
        } finally {
          await files.close();
        }
        const outbox = await cleanOldOutboxRows(store, { before: outboxBefore, batchSize, dryRun });
        process.stdout.write(`${cleanSummary(r, outbox, dryRun)}\n`);
        if (r.failed.runs > 0) {
          throw new TrainyardError(
            'CLEAN_INCOMPLETE',
            `${r.failed.runs} run(s) were not deleted because what they left could not all be removed; their rows stay, so run db clean again once that is fixed. First error: ${r.failed.firstError}`,
          );
        }
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

/** The line `db clean` prints: each kind of thing deleted (or, with --dry-run, to be). */
function cleanSummary(r: CleanResult, outbox: number, dryRun: boolean): string {
  const l = r.leftovers;
  const what = `${l.logDirs} log folder(s), ${l.folders} work, artifact and checkpoint folder(s), ${l.remoteLogs} remote log(s), ${l.results} offloaded result(s)`;
  const kept = `${r.kept} run(s) kept because other runs reuse their results`;
  return dryRun
    ? `${r.runs} run(s) would be deleted with ${what}; ${kept}; ${outbox} notification outbox row(s) would be deleted`
    : `deleted ${r.runs} run(s) in ${r.batches} batch(es) with ${what}; ${kept}; ${outbox} notification outbox row(s) deleted`;
}

/** An age given for `option`, in milliseconds, or a usage error that names the option. */
function ageOption(option: string, raw: string): number {
  try {
    return parseDuration(raw);
  } catch (e) {
    throw new UsageError(`${option}: ${(e as Error).message}`);
  }
}
