import type { Command } from 'commander';
import { migrateToLatest, openDatabase, resetDatabase } from '../../store/db.js';
import { configFrom, type GlobalOptions } from '../context.js';
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
