import type { Kysely, Selectable } from 'kysely';
import type { Store } from './store.js';

/** Variables and connections (migration 0002): configuration that tasks and operators read. */
export interface ConfigTables {
  variable: VariableTable;
  connection: ConnectionTable;
}

export interface VariableTable {
  key: string;
  value: string;
  description: string | null;
  is_sensitive: number;
}

export interface ConnectionTable {
  conn_id: string;
  conn_type: string;
  host: string | null;
  port: number | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  /** JSON object. */
  extra: string | null;
}

export type VariableRow = Selectable<VariableTable>;
export type ConnectionRow = Selectable<ConnectionTable>;

export interface Page<T> {
  readonly rows: T[];
  readonly total: number;
}

/** Queries of variables and connections. */
export class ConfigStore {
  private readonly db: Kysely<ConfigTables>;

  constructor(store: Store) {
    this.db = store.db as unknown as Kysely<ConfigTables>;
  }

  // ---- variables -------------------------------------------------------------------------

  async listVariables(limit: number, offset: number): Promise<Page<VariableRow>> {
    const rows = await this.db.selectFrom('variable').selectAll().orderBy('key').limit(limit).offset(offset).execute();
    const total = await this.db.selectFrom('variable').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(total.n) };
  }

  getVariable(key: string): Promise<VariableRow | undefined> {
    return this.db.selectFrom('variable').selectAll().where('key', '=', key).executeTakeFirst();
  }

  /** Inserts a variable; false when the key is taken. */
  async createVariable(row: VariableRow): Promise<boolean> {
    const r = await this.db.insertInto('variable').values(row).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async updateVariable(key: string, set: Partial<Omit<VariableRow, 'key'>>): Promise<boolean> {
    if (Object.keys(set).length === 0) return (await this.getVariable(key)) !== undefined;
    const r = await this.db.updateTable('variable').set(set).where('key', '=', key).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteVariable(key: string): Promise<boolean> {
    const r = await this.db.deleteFrom('variable').where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  // ---- connections -----------------------------------------------------------------------

  async listConnections(limit: number, offset: number): Promise<Page<ConnectionRow>> {
    const rows = await this.db.selectFrom('connection').selectAll().orderBy('conn_id').limit(limit).offset(offset).execute();
    const total = await this.db.selectFrom('connection').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return { rows, total: Number(total.n) };
  }

  getConnection(connId: string): Promise<ConnectionRow | undefined> {
    return this.db.selectFrom('connection').selectAll().where('conn_id', '=', connId).executeTakeFirst();
  }

  /** Inserts a connection; false when the id is taken. */
  async createConnection(row: ConnectionRow): Promise<boolean> {
    const r = await this.db.insertInto('connection').values(row).onConflict((oc) => oc.column('conn_id').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async updateConnection(connId: string, set: Partial<Omit<ConnectionRow, 'conn_id'>>): Promise<boolean> {
    if (Object.keys(set).length === 0) return (await this.getConnection(connId)) !== undefined;
    const r = await this.db.updateTable('connection').set(set).where('conn_id', '=', connId).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteConnection(connId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('connection').where('conn_id', '=', connId).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
