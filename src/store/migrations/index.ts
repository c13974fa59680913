import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_api.js';
import * as m0003 from './0003_backfill.js';
import * as m0004 from './0004_ml.js';
import * as m0005 from './0005_ha.js';
import * as m0006 from './0006_deadlines.js';
import * as m0007 from './0007_assets.js';
import * as m0008 from './0008_pool_gpus.js';
import * as m0009 from './0009_task_cache.js';
import * as m0010 from './0010_change_feed.js';
import * as m0012 from './0012_notification_outbox.js';
import * as m0013 from './0013_remote_log.js';
import * as m0014 from './0014_sweep_decisions.js';
import * as m0015 from './0015_cached_from_index.js';

/** Every migration, in order. Names are never reused; released files are never edited. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
  '0002_api': m0002,
  '0003_backfill': m0003,
  '0004_ml': m0004,
  '0005_ha': m0005,
  '0006_deadlines': m0006,
  '0007_assets': m0007,
  '0008_pool_gpus': m0008,
  '0009_task_cache': m0009,
  '0010_change_feed': m0010,
  '0012_notification_outbox': m0012,
  '0013_remote_log': m0013,
  '0014_sweep_decisions': m0014,
  '0015_cached_from_index': m0015,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
