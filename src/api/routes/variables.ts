import type { VariableRow } from '../../store/config-store.js';
import { ApiError, notFound } from '../errors.js';
import { route } from '../route.js';
import { CreateVariableBody, MASK, pageQuery, PatchVariableBody, Variable, VariablePage, variablePath } from '../schemas.js';

/** Keys that hold secrets unless told otherwise. */
export const SECRET_KEY = /(password|passwd|secret|token|api_?key|private_?key|credential|auth)/i;

/** A variable as the API shows it: a sensitive value is write-only. */
export function variableView(v: VariableRow) {
  const sensitive = Number(v.is_sensitive) === 1;
  return { key: v.key, value: sensitive ? MASK : v.value, description: v.description, is_sensitive: sensitive };
}

export const variableRoutes = [
  route({
    method: 'get',
    path: '/variables',
    tag: 'Variables',
    summary: 'List variables (sensitive values masked)',
    query: pageQuery,
    response: VariablePage,
    handler: async ({ deps, query }) => {
      const { rows, total } = await deps.configStore.listVariables(query.limit, query.offset);
      return { items: rows.map(variableView), total, limit: query.limit, offset: query.offset };
    },
  }),
  route({
    method: 'get',
    path: '/variables/{key}',
    tag: 'Variables',
    summary: 'Get a variable (a sensitive value is masked)',
    params: variablePath,
    response: Variable,
    handler: async ({ deps, params }) => {
      const v = await deps.configStore.getVariable(params.key);
      if (!v) throw notFound('VARIABLE_NOT_FOUND', `no variable '${params.key}'`);
      return variableView(v);
    },
  }),
  route({
    method: 'post',
    path: '/variables',
    tag: 'Variables',
    summary: 'Create a variable',
    body: CreateVariableBody,
    response: Variable,
    status: 201,
    handler: async ({ deps, body }) => {
      const row = { key: body.key, value: body.value, description: body.description ?? null, is_sensitive: (body.is_sensitive ?? SECRET_KEY.test(body.key)) ? 1 : 0 };
      if (!(await deps.configStore.createVariable(row))) throw new ApiError(409, 'VARIABLE_EXISTS', `variable '${body.key}' exists; change it with PATCH /api/v1/variables/${body.key}`);
      return variableView(row);
    },
  }),
  route({
    method: 'patch',
    path: '/variables/{key}',
    tag: 'Variables',
    summary: 'Change a variable',
    params: variablePath,
    body: PatchVariableBody,
    response: Variable,
    handler: async ({ deps, params, body }) => {
      const set: { value?: string; description?: string | null; is_sensitive?: number } = {};
      if (body.value !== undefined) set.value = body.value;
      if (body.description !== undefined) set.description = body.description;
      if (body.is_sensitive !== undefined) set.is_sensitive = body.is_sensitive ? 1 : 0;
      if (!(await deps.configStore.updateVariable(params.key, set))) throw notFound('VARIABLE_NOT_FOUND', `no variable '${params.key}'`);
      return variableView((await deps.configStore.getVariable(params.key))!);
    },
  }),
  route({
    method: 'delete',
    path: '/variables/{key}',
    tag: 'Variables',
    summary: 'Delete a variable',
    params: variablePath,
    status: 204,
    handler: async ({ deps, params }) => {
      if (!(await deps.configStore.deleteVariable(params.key))) throw notFound('VARIABLE_NOT_FOUND', `no variable '${params.key}'`);
      return undefined;
    },
  }),
];
