import { sql, type RawBuilder } from 'kysely';

/** A LIKE pattern matching `text` anywhere, with LIKE's own characters escaped (ESCAPE '\'). */
export function containsPattern(text: string): string {
  return `%${text.replaceAll(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/** `lower(column) LIKE lower(pattern) ESCAPE '\'`: case-insensitive, the same on SQLite and Postgres. */
export function ilike(column: string, pattern: string): RawBuilder<boolean> {
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern.toLowerCase()} escape '\\'`;
}
