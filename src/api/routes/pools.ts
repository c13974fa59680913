import { DEFAULT_POOL } from '../../core/spec.js';
import { ApiError, notFound } from '../errors.js';
import { route } from '../route.js';
import { CreatePoolBody, PatchPoolBody, Pool, PoolList, poolPath } from '../schemas.js';
import type { Store } from '../../store/store.js';

async function requirePool(store: Store, name: string) {
  const pool = (await store.listPools()).find((p) => p.name === name);
  if (!pool) throw notFound('POOL_NOT_FOUND', `no pool '${name}'; list pools with GET /api/v1/pools`);
  return pool;
}

const view = (p: { name: string; slots: number; description: string | null; gpus: number | null }) => ({
  name: p.name,
  slots: Number(p.slots),
  description: p.description,
  ...(p.gpus === null ? {} : { gpus: Number(p.gpus) }),
});

export const poolRoutes = [
  route({
    method: 'get',
    path: '/pools',
    tag: 'Pools',
    summary: 'List pools',
    response: PoolList,
    handler: async ({ deps }) => {
      const pools = await deps.store.listPools();
      return { items: pools.map(view), total: pools.length };
    },
  }),
  route({
    method: 'get',
    path: '/pools/{name}',
    tag: 'Pools',
    summary: 'Get a pool',
    params: poolPath,
    response: Pool,
    handler: async ({ deps, params }) => view(await requirePool(deps.store, params.name)),
  }),
  route({
    method: 'post',
    path: '/pools',
    tag: 'Pools',
    summary: 'Create a pool',
    body: CreatePoolBody,
    response: Pool,
    status: 201,
    handler: async ({ deps, body }) => {
      if ((await deps.store.listPools()).some((p) => p.name === body.name)) {
        throw new ApiError(409, 'POOL_EXISTS', `pool '${body.name}' exists; change it with PATCH /api/v1/pools/${body.name}`);
      }
      await deps.store.upsertPool(body.name, body.slots, body.description ?? null, body.gpus ?? null);
      deps.scheduler?.notify();
      return view(await requirePool(deps.store, body.name));
    },
  }),
  route({
    method: 'patch',
    path: '/pools/{name}',
    tag: 'Pools',
    summary: "Change a pool's slots, GPU quota or description",
    params: poolPath,
    body: PatchPoolBody,
    response: Pool,
    handler: async ({ deps, params, body }) => {
      const pool = await requirePool(deps.store, params.name);
      const gpus = body.gpus === undefined ? pool.gpus : body.gpus;
      await deps.store.upsertPool(pool.name, body.slots ?? pool.slots, body.description === undefined ? pool.description : body.description, gpus);
      deps.scheduler?.notify();
      return view(await requirePool(deps.store, pool.name));
    },
  }),
  route({
    method: 'delete',
    path: '/pools/{name}',
    tag: 'Pools',
    summary: 'Delete a pool',
    params: poolPath,
    status: 204,
    handler: async ({ deps, params }) => {
      if (params.name === DEFAULT_POOL) throw new ApiError(409, 'POOL_REQUIRED', `'${DEFAULT_POOL}' is used by every task that names no pool; it cannot be deleted (change its slots instead)`);
      if (!(await deps.store.deletePool(params.name))) await requirePool(deps.store, params.name);
      deps.scheduler?.notify();
      return undefined;
    },
  }),
];
