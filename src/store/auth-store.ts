import type { Kysely, Selectable } from 'kysely';
import type { Store } from './store.js';

/** Tables of the API's users, tokens and sessions (migration 0002). */
export interface AuthTables {
  api_user: ApiUserTable;
  api_token: ApiTokenTable;
  api_session: ApiSessionTable;
}

export interface ApiUserTable {
  username: string;
  /** `scrypt$N$r$p$salt$hash`, base64 parts. */
  password_hash: string;
  role: string;
  created_at: number;
}

export interface ApiTokenTable {
  /** sha256 hex of the token. */
  token_hash: string;
  username: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface ApiSessionTable {
  /** sha256 hex of the cookie value. */
  session_hash: string;
  username: string;
  csrf_token: string;
  expires_at: number;
}

export type ApiUserRow = Selectable<ApiUserTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
export type ApiSessionRow = Selectable<ApiSessionTable>;

/** A token or session with the user it belongs to. */
export interface Credential {
  readonly username: string;
  readonly role: string;
}

/** Queries of the API's users, tokens and sessions. */
export class AuthStore {
  private readonly db: Kysely<AuthTables>;

  constructor(store: Store) {
    this.db = store.db as unknown as Kysely<AuthTables>;
  }

  // ---- users -----------------------------------------------------------------------------

  listUsers(): Promise<ApiUserRow[]> {
    return this.db.selectFrom('api_user').selectAll().orderBy('username').execute();
  }

  getUser(username: string): Promise<ApiUserRow | undefined> {
    return this.db.selectFrom('api_user').selectAll().where('username', '=', username).executeTakeFirst();
  }

  /** Inserts a user; false when the username is taken. */
  async createUser(row: ApiUserRow): Promise<boolean> {
    const r = await this.db
      .insertInto('api_user')
      .values(row)
      .onConflict((oc) => oc.column('username').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async updateUser(username: string, set: { password_hash?: string; role?: string }): Promise<boolean> {
    if (!set.password_hash && !set.role) return (await this.getUser(username)) !== undefined;
    const r = await this.db.updateTable('api_user').set(set).where('username', '=', username).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Deletes a user with their tokens and sessions. */
  async deleteUser(username: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('api_token').where('username', '=', username).execute();
      await trx.deleteFrom('api_session').where('username', '=', username).execute();
      const r = await trx.deleteFrom('api_user').where('username', '=', username).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  async countUsers(role?: string): Promise<number> {
    let q = this.db.selectFrom('api_user').select((eb) => eb.fn.countAll<number | string>().as('n'));
    if (role) q = q.where('role', '=', role);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // ---- tokens ----------------------------------------------------------------------------

  async insertToken(row: ApiTokenRow): Promise<void> {
    await this.db.insertInto('api_token').values(row).execute();
  }

  listTokens(username?: string): Promise<ApiTokenRow[]> {
    let q = this.db.selectFrom('api_token').selectAll().orderBy('created_at').orderBy('token_hash');
    if (username) q = q.where('username', '=', username);
    return q.execute();
  }

  async deleteToken(tokenHash: string): Promise<boolean> {
    const r = await this.db.deleteFrom('api_token').where('token_hash', '=', tokenHash).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** The token's user, with when the token was last used. */
  tokenByHash(tokenHash: string): Promise<(Credential & { last_used_at: number | null }) | undefined> {
    return this.db
      .selectFrom('api_token')
      .innerJoin('api_user', 'api_user.username', 'api_token.username')
      .select(['api_user.username', 'api_user.role', 'api_token.last_used_at'])
      .where('api_token.token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async touchToken(tokenHash: string, now: number): Promise<void> {
    await this.db.updateTable('api_token').set({ last_used_at: now }).where('token_hash', '=', tokenHash).execute();
  }

  // ---- sessions --------------------------------------------------------------------------

  async insertSession(row: ApiSessionRow): Promise<void> {
    await this.db.insertInto('api_session').values(row).execute();
  }

  /** A session that has not expired, with its user. */
  sessionByHash(sessionHash: string, now: number): Promise<(Credential & { csrf_token: string; expires_at: number }) | undefined> {
    return this.db
      .selectFrom('api_session')
      .innerJoin('api_user', 'api_user.username', 'api_session.username')
      .select(['api_user.username', 'api_user.role', 'api_session.csrf_token', 'api_session.expires_at'])
      .where('api_session.session_hash', '=', sessionHash)
      .where('api_session.expires_at', '>', now)
      .executeTakeFirst();
  }

  async deleteSession(sessionHash: string): Promise<void> {
    await this.db.deleteFrom('api_session').where('session_hash', '=', sessionHash).execute();
  }

  /** Ends every session of a user (after a password change). */
  async deleteSessionsOf(username: string): Promise<void> {
    await this.db.deleteFrom('api_session').where('username', '=', username).execute();
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const r = await this.db.deleteFrom('api_session').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
