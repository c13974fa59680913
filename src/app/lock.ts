import fs from 'node:fs';
import { TrainyardError } from '../core/errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the single-writer lock of a SQLite database: one scheduler process at a time. A
 * lock left by a dead process is taken over. Returns the release function.
 */
export function acquireSqliteLock(dbFile: string): () => void {
  const lockFile = `${dbFile}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(lockFile, 'utf8') === String(process.pid)) fs.unlinkSync(lockFile);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new TrainyardError(
          'DB_LOCKED',
          `another Trainyard scheduler (pid ${holder}) is using ${dbFile}. SQLite allows one scheduler at a time: stop it, ` +
            'or use another TRAINYARD_HOME, or move to Postgres (TRAINYARD_DATABASE_URL=postgres://…) to run several',
        );
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new TrainyardError('DB_LOCKED', `could not take the lock ${lockFile}; remove it if no Trainyard process is running`);
}
