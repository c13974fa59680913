import { sql } from 'kysely';
import { VERSION } from '../../version.js';
import { route } from '../route.js';
import { Health, Version } from '../schemas.js';
import { iso } from '../views.js';

/** Health, version and the OpenAPI document. `openApi` builds the document of every route. */
export function serviceRoutes(openApi: () => object) {
  return [
    route({
      method: 'get',
      path: '/health',
      tag: 'Service',
      summary: 'Is the API up, can it reach the database, when did a scheduler last beat',
      description: 'Answers 503 when the database is unreachable. `auth: "none"` means anyone on this machine can act as an admin.',
      response: Health,
      errors: { 503: 'The database is unreachable (the body is still a Health object)' },
      handler: async ({ c, deps }) => {
        const started = performance.now();
        let db: { ok: boolean; dialect: string; latency_ms: number | null; error?: string };
        let heartbeat: number | null = null;
        try {
          await sql`select 1`.execute(deps.store.db);
          db = { ok: true, dialect: deps.store.dialect, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
          const row = await deps.store.db
            .selectFrom('scheduler')
            .select((eb) => eb.fn.max<number | null>('heartbeat_at').as('at'))
            .executeTakeFirst();
          heartbeat = row?.at === null || row?.at === undefined ? null : Number(row.at);
        } catch (e) {
          db = { ok: false, dialect: deps.store.dialect, latency_ms: null, error: (e as Error).message };
        }
        const body = {
          status: db.ok ? ('ok' as const) : ('degraded' as const),
          db,
          scheduler: { in_process: deps.scheduler !== undefined, heartbeat_at: iso(heartbeat) },
          auth: deps.auth.mode,
          version: VERSION,
        };
        return c.json(body, db.ok ? 200 : 503, { 'cache-control': 'no-store' });
      },
    }),
    route({
      method: 'get',
      path: '/version',
      tag: 'Service',
      summary: 'The Trainyard version',
      response: Version,
      handler: async () => ({ version: VERSION, api: 'v1' as const }),
    }),
    route({
      method: 'get',
      path: '/openapi.json',
      tag: 'Service',
      summary: 'This API, as an OpenAPI 3.1 document',
      handler: async () => openApi(),
    }),
  ];
}
