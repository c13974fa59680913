/**
 * The zod schemas of the API: request schemas validate input, response schemas describe
 * output, and both generate the OpenAPI document (openapi.ts). Request objects are strict:
 * an unknown field is an error, never silently ignored.
 */
import { z } from 'zod';
import { FAILURE_CLASSES } from '../core/failure.js';
import { RUN_STATES, TASK_STATES } from '../core/states.js';
import { TRIGGER_RULES } from '../core/spec.js';
import { ROLES } from './auth/roles.js';

/** Named request schemas (converted as inputs) and response schemas (as outputs). */
export const requestComponents = z.registry<{ id: string; description?: string }>();
export const responseComponents = z.registry<{ id: string; description?: string }>();

/** `schema`, registered as the named request component `id`. */
export function requestSchema<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  requestComponents.add(schema, { id, description });
  return schema;
}
/** `schema`, registered as the named response component `id`. */
export function responseSchema<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  responseComponents.add(schema, { id, description });
  return schema;
}

// ---- building blocks -------------------------------------------------------------------

export const isoTime = z.string().describe('ISO 8601 time, UTC');
export const nullableTime = isoTime.nullable();
export const jsonObject = z.record(z.string(), z.unknown());

/** An integer in a query string or path. */
export const intParam = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
/** A flag in a query string: `true` or `false`. */
export const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true');
/** A repeatable query parameter (`?state=a&state=b`), always an array after parsing. */
export const repeatable = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const pagination = {
  limit: intParam(1, 1000).default(100).describe('page size (1–1000, default 100)'),
  offset: intParam(0).default(0).describe('rows to skip'),
};

export const taskState = z.enum(TASK_STATES as [string, ...string[]]);
export const runState = z.enum(RUN_STATES as [string, ...string[]]);
export const role = z.enum(ROLES);
const failureClass = z.enum(FAILURE_CLASSES as [string, ...string[]]);

export const ErrorSchema = responseSchema(
  'Error',
  z.object({
    error: z.object({
      code: z.string().describe('stable, machine-readable'),
      message: z.string().describe('what is wrong and what to do next'),
      details: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
    }),
  }),
  'Every error response has this shape.',
);

const page = <T extends z.ZodType>(id: string, item: T) =>
  responseSchema(id, z.object({ items: z.array(item), total: z.number().int().describe('rows matching the filters'), limit: z.number().int(), offset: z.number().int() }));
/** A whole list (not paged): `{ items, total }`. */
export const list = <T extends z.ZodType>(id: string, item: T) => responseSchema(id, z.object({ items: z.array(item), total: z.number().int() }));

// ---- path parameters -------------------------------------------------------------------

export const dagPath = z.strictObject({ dag_id: z.string().min(1) });
export const runPath = z.strictObject({ dag_id: z.string().min(1), run_id: z.string().min(1) });
export const taskPath = runPath.extend({ task_id: z.string().min(1) });
export const tiPath = taskPath.extend({ map_index: intParam(-1).describe('-1 for a task that is not mapped') });
export const tryPath = tiPath.extend({ try_number: intParam(1) });

// ---- DAGs ------------------------------------------------------------------------------

export const Dag = responseSchema(
  'Dag',
  z.object({
    dag_id: z.string(),
    description: z.string().nullable(),
    tags: z.array(z.string()),
    is_paused: z.boolean(),
    is_active: z.boolean(),
    fileloc: z.string(),
    schedule: jsonObject.describe('{ kind: none } | { kind: cron, expression, timezone } | { kind: interval, everyMs }'),
    next_run_at: nullableTime,
    latest_version: z.string(),
    updated_at: isoTime,
  }),
);
export const DagPage = page('DagPage', Dag);

export const GraphTask = responseSchema(
  'GraphTask',
  z.object({
    task_id: z.string(),
    kind: z.enum(['command', 'inline', 'sensor']),
    upstream: z.array(z.string()),
    trigger_rule: z.enum(TRIGGER_RULES as [string, ...string[]]),
    mapped: z.boolean(),
    group: z.string().nullable(),
    branch: z.boolean(),
    pool: z.string(),
    retries: z.number().int(),
    resources: jsonObject,
    executor: z.string().nullable(),
    doc: z.string().nullable(),
  }),
);

export const DagDetail = responseSchema(
  'DagDetail',
  Dag.extend({
    docs: z.string().nullable(),
    max_active_runs: z.number().int(),
    max_active_tasks: z.number().int(),
    params_schema: jsonObject.nullable(),
    params_defaults: jsonObject,
    graph: z.object({
      tasks: z.array(GraphTask),
      groups: z.array(z.object({ group_id: z.string(), parent: z.string().nullable() })),
    }),
  }),
);

export const ImportError = responseSchema('ImportError', z.object({ fileloc: z.string(), message: z.string(), updated_at: isoTime }));
export const ImportErrorList = list('ImportErrorList', ImportError);

export const listDagsQuery = z.strictObject({
  tag: repeatable(z.string()).optional().describe('DAGs with any of these tags (repeat for more)'),
  search: z.string().optional().describe('substring of the DAG id, case-insensitive'),
  paused: boolParam.optional(),
  active: boolParam.optional().describe('false lists DAGs whose file no longer defines them'),
  ...pagination,
});

export const PatchDagBody = requestSchema('PatchDagBody', z.strictObject({ is_paused: z.boolean() }));

// ---- runs ------------------------------------------------------------------------------

export const Run = responseSchema(
  'Run',
  z.object({
    dag_id: z.string(),
    run_id: z.string(),
    state: runState,
    run_type: z.string(),
    version_hash: z.string(),
    conf: jsonObject,
    params: jsonObject,
    logical_date: isoTime,
    data_interval_start: isoTime,
    data_interval_end: isoTime,
    queued_at: isoTime,
    start_date: nullableTime,
    end_date: nullableTime,
    note: z.string().nullable(),
  }),
);
export const RunPage = page('RunPage', Run);
export const RunDetail = responseSchema(
  'RunDetail',
  Run.extend({
    task_counts: z.record(z.string(), z.number().int()).describe('task instances by state'),
    cached_count: z.number().int().describe("of the successes, those that reused an earlier try's result (task caching); still counted in task_counts.success"),
  }),
);

export const listRunsQuery = z.strictObject({
  state: repeatable(runState).optional().describe('runs in any of these states (repeat for more)'),
  ...pagination,
});
export const listAllRunsQuery = listRunsQuery.extend({ dag_id: z.string().optional() });

export const TriggerRunBody = requestSchema(
  'TriggerRunBody',
  z.strictObject({
    conf: jsonObject.optional().describe("params for this run, validated against the DAG's params schema"),
    run_id: z
      .string()
      .min(1)
      .max(250)
      .regex(/^[A-Za-z0-9_.:+\-]+$/, 'may contain only letters, digits and _ . : + -')
      .optional(),
    logical_date: z.iso.datetime({ offset: true }).optional().describe('default: now'),
  }),
);

export const PatchRunBody = requestSchema('PatchRunBody', z.strictObject({ state: z.enum(['success', 'failed']) }));

export const ClearBody = requestSchema(
  'ClearBody',
  z.strictObject({
    task_ids: z.array(z.string().min(1)).optional().describe('tasks to clear (default: every task)'),
    downstream: z.boolean().default(false).describe('also clear everything downstream of them'),
    only_failed: z.boolean().default(false).describe('only tasks with a failed or upstream_failed instance'),
  }),
);
export const ClearResult = responseSchema('ClearResult', z.object({ cleared: z.array(z.string()) }));

// ---- task instances --------------------------------------------------------------------

export const TaskInstance = responseSchema(
  'TaskInstance',
  z.object({
    dag_id: z.string(),
    run_id: z.string(),
    task_id: z.string(),
    map_index: z.number().int(),
    state: taskState,
    try_number: z.number().int(),
    priority_weight: z.number().int(),
    pool: z.string(),
    queued_at: nullableTime,
    start_date: nullableTime,
    end_date: nullableTime,
    duration_ms: z.number().nullable(),
    next_retry_at: nullableTime,
    failure_class: failureClass.nullable(),
    failure: z.string().nullable().describe('the failure class in plain words'),
    reason: z.string().nullable(),
    item: z.unknown().describe('the mapped item (null when not mapped)'),
    cached: z.boolean().describe('true when the instance reused the result of an earlier try with the same cache key instead of running'),
    cached_from: z.unknown().describe('that try (dag_id, run_id, task_id, map_index, try_number, artifacts_uri, cache_key), or null'),
  }),
);
export const TaskInstancePage = page('TaskInstancePage', TaskInstance);

export const listTaskInstancesQuery = z.strictObject({
  state: repeatable(taskState).optional().describe('instances in any of these states; removed placeholders are left out unless asked for'),
  task_id: z.string().optional(),
  map_index: intParam(-1).optional(),
  cached: boolParam.optional().describe('true: only cached instances (successes that reused an earlier try\'s result); false: only the others'),
  ...pagination,
});

export const TaskSummary = responseSchema(
  'TaskSummary',
  z.object({
    dag_id: z.string(),
    run_id: z.string(),
    task_id: z.string(),
    mapped: z.boolean(),
    total: z.number().int(),
    counts: z.record(z.string(), z.number().int()).describe('instances by state'),
    cached_count: z.number().int().describe('of `counts.success`, the instances that reused an earlier try\'s result (task caching) instead of running'),
    duration: z.object({
      finished: z.number().int().describe('instances with a start and an end'),
      min_ms: z.number().nullable(),
      max_ms: z.number().nullable(),
      mean_ms: z.number().nullable(),
      buckets: z.array(z.object({ from_ms: z.number(), to_ms: z.number(), count: z.number().int() })).describe('equal-width buckets from min to max'),
    }),
    top_errors: z.array(z.object({ failure_class: failureClass.nullable(), failure: z.string().nullable(), reason: z.string().nullable(), count: z.number().int() })),
  }),
);
export const summaryQuery = z.strictObject({
  buckets: intParam(1, 100).default(10).describe('histogram buckets'),
  top: intParam(1, 100).default(10).describe('error groups to return'),
});

export const PatchTaskInstanceBody = requestSchema('PatchTaskInstanceBody', z.strictObject({ state: z.enum(['success', 'failed']) }));
export const MarkResult = responseSchema('MarkResult', z.object({ updated: z.number().int() }));

export const Try = responseSchema(
  'Try',
  z.object({
    try_number: z.number().int(),
    state: z.string(),
    executor: z.string(),
    queued_at: isoTime,
    start_date: nullableTime,
    end_date: nullableTime,
    duration_ms: z.number().nullable(),
    host: z.string().nullable(),
    pid: z.number().int().nullable(),
    external: z.string().nullable(),
    exit_code: z.number().int().nullable(),
    signal: z.string().nullable(),
    failure_class: failureClass.nullable(),
    failure: z.string().nullable(),
    reason: z.string().nullable(),
    counts_against_budget: z.boolean(),
  }),
);
export const TryList = responseSchema('TryList', z.object({ items: z.array(Try) }));

export const TaskResult = responseSchema('TaskResult', z.object({ state: taskState, result: z.unknown() }));

export const logRangeQuery = z.strictObject({
  offset: intParam(0).default(0).describe('byte offset to read from'),
  length: intParam(1, 1024 * 1024).default(64 * 1024).describe('bytes to read at most (≤ 1 MiB)'),
});
export const LogChunk = responseSchema(
  'LogChunk',
  z.object({
    text: z.string(),
    offset: z.number().int(),
    next_offset: z.number().int().describe('offset of the next read; ends on a whole UTF-8 character'),
    size: z.number().int().describe('bytes in the log so far'),
    finished: z.boolean().describe('the try has ended: the log will not grow'),
  }),
);
export const logStreamQuery = z.strictObject({ offset: intParam(0).default(0).describe('byte offset to start from (Last-Event-ID wins)') });

export const metricsQuery = z.strictObject({ name: repeatable(z.string()).optional().describe('only these series') });
export const Metrics = responseSchema(
  'Metrics',
  z.object({
    series: z.array(z.object({ name: z.string(), points: z.array(z.object({ step: z.number().nullable(), value: z.number(), at: isoTime })) })),
  }),
);

// ---- pools -----------------------------------------------------------------------------

export const Pool = responseSchema(
  'Pool',
  z.object({
    name: z.string(),
    slots: z.number().int(),
    description: z.string().nullable(),
    gpus: z.number().int().optional().describe('GPU quota: the most GPUs its queued and running tasks may ask for; absent when the pool has none'),
  }),
);
export const PoolList = list('PoolList', Pool);
export const poolPath = z.strictObject({ name: z.string().min(1) });
const poolName = z.string().min(1).max(250).regex(/^[A-Za-z0-9_.\-]+$/, 'may contain only letters, digits and _ . -');
const poolGpus = z
  .number()
  .int('must be a whole number of GPUs, e.g. 8')
  .min(0, 'must be 0 or more GPUs (null removes the quota)')
  .max(1_000_000)
  .nullable()
  .optional()
  .describe("GPU quota: tasks' GPU requests (resources.gpu, or the machine preset's nvidia.com/gpu) are counted against it; null for none");
export const CreatePoolBody = requestSchema(
  'CreatePoolBody',
  z.strictObject({ name: poolName, slots: z.number().int().min(0).max(1_000_000), description: z.string().max(1000).nullable().optional(), gpus: poolGpus }),
);
export const PatchPoolBody = requestSchema(
  'PatchPoolBody',
  z.strictObject({ slots: z.number().int().min(0).max(1_000_000).optional(), description: z.string().max(1000).nullable().optional(), gpus: poolGpus }),
);

// ---- variables and connections ---------------------------------------------------------

export const MASK = '***';

export const Variable = responseSchema(
  'Variable',
  z.object({ key: z.string(), value: z.string().describe(`"${MASK}" when sensitive`), description: z.string().nullable(), is_sensitive: z.boolean() }),
);
export const VariablePage = page('VariablePage', Variable);
export const variablePath = z.strictObject({ key: z.string().min(1) });
const variableKey = z.string().min(1).max(250).regex(/^[A-Za-z0-9_.\-]+$/, 'may contain only letters, digits and _ . -');
export const CreateVariableBody = requestSchema(
  'CreateVariableBody',
  z.strictObject({
    key: variableKey,
    value: z.string().max(64 * 1024),
    description: z.string().max(1000).nullable().optional(),
    is_sensitive: z.boolean().optional().describe('write-only value: masked on read (default: guessed from the key, e.g. *password*, *secret*, *token*)'),
  }),
);
export const PatchVariableBody = requestSchema(
  'PatchVariableBody',
  z.strictObject({ value: z.string().max(64 * 1024).optional(), description: z.string().max(1000).nullable().optional(), is_sensitive: z.boolean().optional() }),
);

export const Connection = responseSchema(
  'Connection',
  z.object({
    conn_id: z.string(),
    conn_type: z.string(),
    host: z.string().nullable(),
    port: z.number().int().nullable(),
    login: z.string().nullable(),
    password: z.string().nullable().describe(`"${MASK}" when set; never returned`),
    schema: z.string().nullable(),
    extra: jsonObject.nullable().describe(`values of secret-looking keys are "${MASK}"`),
  }),
);
export const ConnectionPage = page('ConnectionPage', Connection);
export const connectionPath = z.strictObject({ conn_id: z.string().min(1) });
const connectionFields = {
  conn_type: z.string().min(1).max(100),
  host: z.string().max(1000).nullable().optional(),
  port: z.number().int().min(1).max(65535).nullable().optional(),
  login: z.string().max(1000).nullable().optional(),
  password: z.string().max(4096).nullable().optional(),
  schema: z.string().max(1000).nullable().optional(),
  extra: jsonObject.nullable().optional(),
};
export const CreateConnectionBody = requestSchema(
  'CreateConnectionBody',
  z.strictObject({ conn_id: variableKey, ...connectionFields }),
);
export const PatchConnectionBody = requestSchema('PatchConnectionBody', z.strictObject({ ...connectionFields, conn_type: connectionFields.conn_type.optional() }));

export const pageQuery = z.strictObject({ ...pagination });

// ---- auth, users, tokens ---------------------------------------------------------------

export const LoginBody = requestSchema('LoginBody', z.strictObject({ username: z.string().min(1).max(100), password: z.string().min(1).max(1000) }));
export const Session = responseSchema(
  'Session',
  z.object({
    username: z.string(),
    role,
    via: z.enum(['token', 'session', 'none']),
    csrf_token: z.string().nullable().describe('send it as X-CSRF-Token on every state-changing request made with the session cookie'),
    expires_at: nullableTime,
  }),
);
export const Ok = responseSchema('Ok', z.object({ ok: z.literal(true) }));

export const User = responseSchema('User', z.object({ username: z.string(), role, created_at: isoTime }));
export const UserList = list('UserList', User);
export const userPath = z.strictObject({ username: z.string().min(1) });
const username = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.@\-]+$/, 'may contain only letters, digits and _ . @ -');
const password = z.string().min(12, 'must be at least 12 characters').max(1000);
export const CreateUserBody = requestSchema('CreateUserBody', z.strictObject({ username, password, role }));
export const PatchUserBody = requestSchema('PatchUserBody', z.strictObject({ password: password.optional(), role: role.optional() }));

export const Token = responseSchema(
  'Token',
  z.object({ id: z.string().describe('sha256 of the token'), username: z.string(), name: z.string(), created_at: isoTime, last_used_at: nullableTime }),
);
export const TokenList = list('TokenList', Token);
export const NewToken = responseSchema('NewToken', Token.extend({ token: z.string().describe('shown once; send as Authorization: Bearer <token>') }));
export const tokenPath = z.strictObject({ token_id: z.string().regex(/^[0-9a-f]{64}$/, 'must be a token id (64 hex digits)') });
export const CreateTokenBody = requestSchema(
  'CreateTokenBody',
  z.strictObject({ name: z.string().min(1).max(100), username: username.optional().describe('whose token (default: the caller)') }),
);

// ---- service ---------------------------------------------------------------------------

export const Health = responseSchema(
  'Health',
  z.object({
    status: z.enum(['ok', 'degraded']),
    db: z.object({ ok: z.boolean(), dialect: z.string(), latency_ms: z.number().nullable(), error: z.string().optional() }),
    scheduler: z.object({
      in_process: z.boolean(),
      heartbeat_at: nullableTime.describe('latest heartbeat of any scheduler, when schedulers record one'),
    }),
    auth: z.enum(['password', 'none']),
    version: z.string(),
  }),
);
export const Version = responseSchema('Version', z.object({ version: z.string(), api: z.literal('v1') }));
