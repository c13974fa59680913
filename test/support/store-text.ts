import Database from 'better-sqlite3';

/** Every row of every table of a SQLite store, as one text (blobs read as UTF-8): to check that something never reached the store. */
export function sqliteStoreText(file: string): { readonly tables: number; readonly rows: number; readonly text: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    let rows = 0;
    const parts: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all() as Record<string, unknown>[]) {
        rows++;
        parts.push(Object.values(row).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))).join('\t'));
      }
    }
    return { tables: tables.length, rows, text: parts.join('\n') };
  } finally {
    db.close();
  }
}
