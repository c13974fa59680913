import crypto from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** Distinct SQL texts given a server-side prepared statement; others run unnamed. */
export const PREPARED_TEXT_LIMIT = 256;

const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\b/i;
/** `select *`, `select "t".*`, `returning *`: a result whose columns follow the table's. */
const STAR_RESULT = /(\bselect\s+(distinct\s+)?\*|\.\*|\breturning\s+\*)/i;

/**
 * The scheduler sends the same few statements thousands of times. Named statements are
 * parsed and planned once per connection by the server; later executions send only the
 * parameters (node-postgres remembers what each connection has prepared).
 *
 * Named: data statements only, and only the first PREPARED_TEXT_LIMIT distinct texts (an
 * `IN (…)` list of another length is another text), so a connection never accumulates an
 * unbounded number of statements. Statements that return `*` stay unnamed: a column added by
 * a newer Trainyard's migration (a rolling upgrade) changes their result type, which a
 * prepared plan refuses. Should a named one still meet that ("cached plan must not change
 * result type", after a column's type changed), it fails once and its text is never named
 * again.
 */
export class PreparedStatements {
  private readonly names = new Map<string, string>();
  private readonly refused = new Set<string>();

  /** The statement name for a SQL text, or undefined when it runs unnamed. */
  nameOf(sql: string): string | undefined {
    const known = this.names.get(sql);
    if (known !== undefined || this.refused.has(sql)) return known;
    if (this.names.size >= PREPARED_TEXT_LIMIT || !DATA_STATEMENT.test(sql) || STAR_RESULT.test(sql)) return undefined;
    const name = `ty_${crypto.createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    this.names.set(sql, name);
    return name;
  }

  /** Stops naming a text whose prepared plan the server rejected. */
  refuse(sql: string): void {
    this.names.delete(sql);
    this.refused.add(sql);
  }

  get size(): number {
    return this.names.size;
  }

  /** A pool for Kysely's PostgresDialect whose clients run repeated statements prepared. */
  wrap(pool: pg.Pool): PostgresPool {
    return {
      connect: async () => this.wrapClient(await pool.connect()),
      end: () => pool.end(),
    };
  }

  private wrapClient(client: pg.PoolClient): PostgresPoolClient {
    const query = async (sql: string, values: readonly unknown[]) => {
      const name = this.nameOf(sql);
      try {
        return await client.query({ text: sql, values: values as unknown[], ...(name ? { name } : {}) });
      } catch (e) {
        if (name && (e as { code?: string }).code === '0A000' && /cached plan/i.test(String((e as Error).message))) this.refuse(sql);
        throw e;
      }
    };
    return {
      query: ((sqlOrCursor: unknown, values?: readonly unknown[]) =>
        typeof sqlOrCursor === 'string' ? query(sqlOrCursor, values ?? []) : client.query(sqlOrCursor as never)) as unknown as PostgresPoolClient['query'],
      release: () => client.release(),
    };
  }
}
