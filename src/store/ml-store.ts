import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Store } from './store.js';

/** Tables of the model registry (migration 0004). */
export interface MlTables {
  model: ModelTable;
  model_version: ModelVersionTable;
  model_alias: ModelAliasTable;
  model_alias_history: ModelAliasHistoryTable;
  promotion_decision: PromotionDecisionTable;
}

export interface ModelTable {
  name: string;
  description: string | null;
  created_at: number;
  updated_at: number;
}

export interface ModelVersionTable {
  name: string;
  version: number;
  uri: string;
  /** JSON object of metric name → number. */
  metrics: string;
  /** JSON object of params. */
  params: string;
  description: string | null;
  archived: number;
  dag_id: string | null;
  run_id: string | null;
  task_id: string | null;
  map_index: number | null;
  try_number: number | null;
  logical_date: number | null;
  data_interval_start: number | null;
  data_interval_end: number | null;
  ds: string | null;
  dag_version_hash: string | null;
  image_digest: string | null;
  created_by: string;
  created_at: number;
}

export interface ModelAliasTable {
  name: string;
  alias: string;
  version: number;
  updated_by: string;
  updated_at: number;
}

export interface ModelAliasHistoryTable {
  name: string;
  seq: number;
  alias: string;
  /** The version the alias pointed at before; null when it was unset. */
  from_version: number | null;
  /** The version it points at after; null when it was removed. */
  to_version: number | null;
  actor: string;
  at: number;
  note: string | null;
}

export interface PromotionDecisionTable {
  name: string;
  seq: number;
  version: number;
  alias: string;
  metric: string;
  direction: 'min' | 'max';
  margin: number;
  candidate_value: number;
  baseline_alias: string;
  baseline_version: number | null;
  baseline_value: number | null;
  decision: 'promoted' | 'rejected';
  reason: string;
  actor: string;
  at: number;
}

export type ModelRow = Selectable<ModelTable>;
export type ModelVersionRow = Selectable<ModelVersionTable>;
export type ModelAliasRow = Selectable<ModelAliasTable>;
export type ModelAliasHistoryRow = Selectable<ModelAliasHistoryTable>;
export type PromotionDecisionRow = Selectable<PromotionDecisionTable>;
export type NewModelVersion = Omit<Insertable<ModelVersionTable>, 'version'>;

/** A model with its latest version and aliases, for lists. */
export interface ModelSummary extends ModelRow {
  readonly latest_version: number | null;
  readonly versions: number;
  readonly aliases: Readonly<Record<string, number>>;
}

/**
 * Queries of the model registry. Plain queries only (no dialect-specific SQL), so they run on
 * SQLite and Postgres alike. Callers that change several rows wrap them in
 * `store.transaction()` and build an MlStore on the transaction's store.
 */
export class MlStore {
  private readonly db: Kysely<MlTables>;

  constructor(readonly store: Store) {
    this.db = store.db as unknown as Kysely<MlTables>;
  }

  // ---- models ----------------------------------------------------------------------------

  getModel(name: string): Promise<ModelRow | undefined> {
    return this.db.selectFrom('model').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** Creates the model if it does not exist; touches updated_at otherwise. */
  async ensureModel(name: string, now: number, description?: string | null): Promise<void> {
    const set: { updated_at: number; description?: string | null } = { updated_at: now };
    if (description !== undefined && description !== null) set.description = description;
    await this.db
      .insertInto('model')
      .values({ name, description: description ?? null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet(set))
      .execute();
  }

  async listModels(): Promise<ModelSummary[]> {
    const models = await this.db.selectFrom('model').selectAll().orderBy('name').execute();
    if (models.length === 0) return [];
    const counts = await this.db
      .selectFrom('model_version')
      .select(['name', (eb) => eb.fn.max<number>('version').as('latest'), (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('name')
      .execute();
    const aliases = await this.db.selectFrom('model_alias').selectAll().orderBy('alias').execute();
    const byName = new Map(counts.map((c) => [c.name, c]));
    return models.map((m) => ({
      ...m,
      latest_version: byName.get(m.name)?.latest === undefined ? null : Number(byName.get(m.name)!.latest),
      versions: Number(byName.get(m.name)?.n ?? 0),
      aliases: Object.fromEntries(aliases.filter((a) => a.name === m.name).map((a) => [a.alias, a.version])),
    }));
  }

  // ---- versions --------------------------------------------------------------------------

  async maxVersion(name: string): Promise<number> {
    const r = await this.db
      .selectFrom('model_version')
      .select((eb) => eb.fn.max<number>('version').as('v'))
      .where('name', '=', name)
      .executeTakeFirst();
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  }

  /** Inserts a version with the given number; false when that number is taken. */
  async insertVersion(row: NewModelVersion & { version: number }): Promise<boolean> {
    const r = await this.db
      .insertInto('model_version')
      .values(row)
      .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  getVersion(name: string, version: number): Promise<ModelVersionRow | undefined> {
    return this.db.selectFrom('model_version').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
  }

  listVersions(name: string): Promise<ModelVersionRow[]> {
    return this.db.selectFrom('model_version').selectAll().where('name', '=', name).orderBy('version').execute();
  }

  /** Version numbers of a model, ascending. */
  async versionNumbers(name: string): Promise<number[]> {
    const rows = await this.db.selectFrom('model_version').select('version').where('name', '=', name).orderBy('version').execute();
    return rows.map((r) => Number(r.version));
  }

  /** Versions registered by one DAG run (lineage, newest first). */
  listVersionsOfRun(dagId: string, runId: string): Promise<ModelVersionRow[]> {
    return this.db
      .selectFrom('model_version')
      .selectAll()
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .orderBy('name')
      .orderBy('version', 'desc')
      .execute();
  }

  async setArchived(name: string, version: number, archived: boolean): Promise<void> {
    await this.db.updateTable('model_version').set({ archived: archived ? 1 : 0 }).where('name', '=', name).where('version', '=', version).execute();
  }

  // ---- aliases ---------------------------------------------------------------------------

  getAlias(name: string, alias: string): Promise<ModelAliasRow | undefined> {
    return this.db.selectFrom('model_alias').selectAll().where('name', '=', name).where('alias', '=', alias).executeTakeFirst();
  }

  listAliases(name: string): Promise<ModelAliasRow[]> {
    return this.db.selectFrom('model_alias').selectAll().where('name', '=', name).orderBy('alias').execute();
  }

  /** Points `alias` at `version` (or removes it when version is null) and records the change. */
  async moveAlias(name: string, alias: string, version: number | null, actor: string, now: number, note: string | null = null): Promise<ModelAliasHistoryRow | undefined> {
    const before = await this.getAlias(name, alias);
    const from = before ? Number(before.version) : null;
    if (from === version) return undefined;
    if (version === null) {
      await this.db.deleteFrom('model_alias').where('name', '=', name).where('alias', '=', alias).execute();
    } else {
      await this.db
        .insertInto('model_alias')
        .values({ name, alias, version, updated_by: actor, updated_at: now })
        .onConflict((oc) => oc.columns(['name', 'alias']).doUpdateSet({ version, updated_by: actor, updated_at: now }))
        .execute();
    }
    return this.addHistory({ name, alias, from_version: from, to_version: version, actor, at: now, note });
  }

  async addHistory(row: Omit<ModelAliasHistoryRow, 'seq'>): Promise<ModelAliasHistoryRow> {
    const r = await this.db
      .selectFrom('model_alias_history')
      .select((eb) => eb.fn.max<number>('seq').as('s'))
      .where('name', '=', row.name)
      .executeTakeFirst();
    const full = { ...row, seq: Number(r?.s ?? 0) + 1 };
    await this.db.insertInto('model_alias_history').values(full).execute();
    return full;
  }

  /** Alias changes of a model, oldest first. */
  aliasHistory(name: string): Promise<ModelAliasHistoryRow[]> {
    return this.db.selectFrom('model_alias_history').selectAll().where('name', '=', name).orderBy('seq').execute();
  }

  // ---- gated promotions ------------------------------------------------------------------

  async addDecision(row: Omit<PromotionDecisionRow, 'seq'>): Promise<PromotionDecisionRow> {
    const r = await this.db
      .selectFrom('promotion_decision')
      .select((eb) => eb.fn.max<number>('seq').as('s'))
      .where('name', '=', row.name)
      .executeTakeFirst();
    const full = { ...row, seq: Number(r?.s ?? 0) + 1 };
    await this.db.insertInto('promotion_decision').values(full).execute();
    return full;
  }

  /** Promotion decisions of a model, oldest first. */
  listDecisions(name: string): Promise<PromotionDecisionRow[]> {
    return this.db.selectFrom('promotion_decision').selectAll().where('name', '=', name).orderBy('seq').execute();
  }
}
