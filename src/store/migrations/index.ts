import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';

/** Every migration, in order. Names are never reused; released files are never edited. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
