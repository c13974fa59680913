/**
 * DAG validation, run when a DAG is built from user code, and the graph helpers the rest of
 * the system uses (topological order, downstream sets, cycle detection).
 *
 * Every problem is a DagValidationError with a stable code and a message that names the
 * task, says what is wrong and what to do.
 */
import { DagValidationError } from './errors.js';
import { TRIGGER_RULES, type DagSpec, type TaskSpec, type ValueExpr } from './spec.js';
import { isExpr, referencedTasks } from './values.js';
import { misplacedSecrets } from './secret-placement.js';

/** DAG and task ids: letters, digits, `_`, `.` and `-`, not starting with `.` or `-`, at most 250. */
export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$/;
const ID_RULE =
  'Ids use letters, digits, "_", "." and "-", start with a letter, digit or "_", ' +
  'and are at most 250 characters long.';

/** Throws DagValidationError for the first problem found in the spec. */
export function validateDagSpec(spec: DagSpec): void {
  const fail = failer(spec.dagId);
  checkId(spec.dagId, 'DAG id', fail);
  for (const task of spec.tasks) checkId(task.taskId, 'Task id', fail, task);
  checkDuplicates(spec.tasks, fail);
  for (const task of spec.tasks) checkTaskSettings(task, fail);
  for (const task of spec.tasks) checkSecretPlacement(task, fail);
  const ids = spec.tasks.map((t) => t.taskId);
  const known = new Set(ids);
  for (const task of spec.tasks) checkUpstreams(task, known, ids, fail);
  for (const task of spec.tasks) checkMapping(task, fail);
  for (const task of spec.tasks) checkResultReferences(task, fail);
  for (const task of spec.tasks) checkSweep(task, spec.tasks, fail);
  checkAcyclic(spec, fail);
}

/** A sweep's trial task is mapped, and its best-trial task exists and reads it. */
function checkSweep(task: TaskSpec, tasks: readonly TaskSpec[], fail: Fail): void {
  const name = `Task '${task.taskId}'${where(task)}`;
  if (task.sweep) {
    if (!task.mapping) fail('SWEEP_INVALID', `${name} is a sweep but is not mapped; give it a search space to map over.`);
    const best = tasks.find((t) => t.taskId === task.sweep!.bestTaskId);
    if (best?.sweepBestOf !== task.taskId) {
      fail('SWEEP_INVALID', `${name} is a sweep whose best-trial task '${task.sweep.bestTaskId}' is missing or reads another sweep; declare sweeps with d.sweep().`);
    }
  }
  if (task.sweepBestOf !== undefined && !task.upstream.includes(task.sweepBestOf)) {
    fail('SWEEP_INVALID', `${name} picks the best trial of '${task.sweepBestOf}', which is not one of its upstream tasks.`);
  }
}

type Fail = (code: string, message: string) => never;

function failer(dagId: string): Fail {
  return (code, message) => {
    throw new DagValidationError(code, `DAG '${dagId}': ${message}`, dagId);
  };
}

function where(task: TaskSpec): string {
  return task.definedAt ? ` (defined at ${task.definedAt})` : '';
}

function checkId(id: unknown, what: string, fail: Fail, task?: TaskSpec): void {
  if (typeof id === 'string' && ID_PATTERN.test(id)) return;
  const shown = typeof id === 'string' ? `'${id.length > 60 ? `${id.slice(0, 60)}…` : id}'` : String(id);
  fail('INVALID_ID', `${what} ${shown}${task ? where(task) : ''} is not valid. ${ID_RULE}`);
}

function checkDuplicates(tasks: readonly TaskSpec[], fail: Fail): void {
  const first = new Map<string, TaskSpec>();
  for (const task of tasks) {
    const earlier = first.get(task.taskId);
    if (earlier === undefined) {
      first.set(task.taskId, task);
      continue;
    }
    fail(
      'DUPLICATE_TASK_ID',
      `Task id '${task.taskId}' is defined twice: at ${earlier.definedAt ?? 'an unknown place'} ` +
        `and at ${task.definedAt ?? 'an unknown place'}. Give each task a unique id.`,
    );
  }
}

function isNonNegativeInteger(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

function isNonNegativeFinite(n: unknown): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

function checkTaskSettings(task: TaskSpec, fail: Fail): void {
  const name = `Task '${task.taskId}'${where(task)}`;
  if (!TRIGGER_RULES.includes(task.triggerRule)) {
    fail(
      'INVALID_TRIGGER_RULE',
      `${name} has trigger rule '${String(task.triggerRule)}', which does not exist. ` +
        `Use one of: ${TRIGGER_RULES.join(', ')}.`,
    );
  }
  if (!isNonNegativeInteger(task.retries)) {
    fail('INVALID_RETRIES', `${name} has retries ${String(task.retries)}; retries must be a whole number, 0 or more.`);
  }
  if (!isNonNegativeFinite(task.retryDelayMs)) {
    fail('INVALID_RETRY_DELAY', `${name} has retry delay ${String(task.retryDelayMs)} ms; it must be 0 or more.`);
  }
  if (task.maxRetryDelayMs !== undefined && !isNonNegativeFinite(task.maxRetryDelayMs)) {
    fail(
      'INVALID_RETRY_DELAY',
      `${name} has max retry delay ${String(task.maxRetryDelayMs)} ms; it must be 0 or more.`,
    );
  }
  if (!(Number.isInteger(task.poolSlots) && task.poolSlots >= 1)) {
    fail('INVALID_POOL_SLOTS', `${name} takes ${String(task.poolSlots)} pool slots; it must take a whole number, 1 or more.`);
  }
  if (!(Number.isInteger(task.maxMapLength) && task.maxMapLength >= 1)) {
    fail(
      'INVALID_MAX_MAP_LENGTH',
      `${name} has maxMapLength ${String(task.maxMapLength)}; it must be a whole number, 1 or more.`,
    );
  }
}

/** `secret()` and `secretRef()` stand only as the whole value of an env variable. */
function checkSecretPlacement(task: TaskSpec, fail: Fail): void {
  const [first] = misplacedSecrets(task);
  if (first === undefined) return;
  fail(
    'SECRET_MISPLACED',
    `Task '${task.taskId}'${where(task)} has ${first.secret} in ${first.where}. A secret is only valid as the whole ` +
      `value of a command task's env variable: put it in env (env: { NAME: ${first.secret} }) and read the ` +
      `variable in the command, or read the secret inside the task.`,
  );
}

function checkUpstreams(task: TaskSpec, known: ReadonlySet<string>, ids: readonly string[], fail: Fail): void {
  for (const up of task.upstream) {
    if (up === task.taskId) {
      fail('CYCLE', `Task '${task.taskId}'${where(task)} depends on itself: ${up} -> ${up}. Remove the self-dependency.`);
    }
    if (known.has(up)) continue;
    const similar = similarIds(up, ids);
    const hint = similar.length > 0 ? ` Did you mean ${similar.map((s) => `'${s}'`).join(' or ')}?` : '';
    fail(
      'UNKNOWN_UPSTREAM',
      `Task '${task.taskId}'${where(task)} depends on '${up}', which is not a task in this DAG.${hint}`,
    );
  }
}

function checkMapping(task: TaskSpec, fail: Fail): void {
  const mapping = task.mapping;
  if (mapping === undefined) return;
  const name = `Task '${task.taskId}'${where(task)}`;
  const keys = Object.keys(mapping.sources);
  if (keys.length === 0) fail('INVALID_MAPPING', `${name} is mapped over no inputs. Give it at least one input to map over.`);
  if (mapping.mode === 'kwargs' && (keys.length !== 1 || keys[0] !== 'kwargs')) {
    fail('INVALID_MAPPING', `${name} maps over kwargs, which takes exactly one input named 'kwargs'; got ${keys.join(', ')}.`);
  }
  for (const key of keys) {
    const src = mapping.sources[key];
    if (src.kind === 'literal' && !Array.isArray(src.values)) {
      fail('INVALID_MAPPING', `${name} maps over '${key}', whose literal value is not a list.`);
    }
    if (src.kind === 'result' && !task.upstream.includes(src.taskId)) {
      fail(
        'MAP_SOURCE_NOT_UPSTREAM',
        `${name} maps '${key}' over the result of '${src.taskId}', which is not one of its upstream tasks. ` +
          `Make '${src.taskId}' an upstream of '${task.taskId}'.`,
      );
    }
    if (Object.hasOwn(mapping.partial, key)) {
      fail(
        'MAP_PARTIAL_CLASH',
        `${name} gives '${key}' both as a fixed (partial) value and as a mapped input. Use one or the other.`,
      );
    }
  }
}

/** Every ValueExpr in a task that may read an upstream result. */
function taskExpressions(task: TaskSpec): ValueExpr[] {
  const exprs: ValueExpr[] = Object.values(task.inputs);
  const command = task.command;
  if (command !== undefined) {
    exprs.push(command.command);
    if (!isExpr(command.args)) exprs.push(...(command.args as readonly ValueExpr[]));
    if (!isExpr(command.env)) exprs.push(...Object.values(command.env as Record<string, ValueExpr>));
  }
  return exprs;
}

function checkResultReferences(task: TaskSpec, fail: Fail): void {
  for (const expr of taskExpressions(task)) {
    for (const ref of referencedTasks(expr)) {
      if (task.upstream.includes(ref)) continue;
      fail(
        'RESULT_REF_NOT_UPSTREAM',
        `Task '${task.taskId}'${where(task)} reads the result of '${ref}', which is not one of its ` +
          `upstream tasks. Make '${ref}' an upstream of '${task.taskId}'.`,
      );
    }
  }
}

function checkAcyclic(spec: DagSpec, fail: Fail): void {
  const cycle = findCycle(
    spec.tasks.map((t) => t.taskId),
    directDownstream(spec),
  );
  if (cycle !== null) fail('CYCLE', cycleMessage(cycle));
}

/**
 * A cycle in a directed graph, as a path that starts and ends at the same node
 * (["a", "b", "a"]), or null. `edges` maps a node to the nodes it points to. Deterministic:
 * nodes and edges are explored in the order given. Iterative, so deep graphs are fine.
 */
export function findCycle(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'active' | 'done'>();
  for (const start of nodes) {
    if (state.has(start)) continue;
    const cycle = searchFrom(start, edges, state);
    if (cycle !== null) return cycle;
  }
  return null;
}

function searchFrom(
  start: string,
  edges: ReadonlyMap<string, readonly string[]>,
  state: Map<string, 'active' | 'done'>,
): string[] | null {
  const path: string[] = [start];
  const next: number[] = [0];
  state.set(start, 'active');
  while (path.length > 0) {
    const node = path[path.length - 1];
    const successors = edges.get(node) ?? [];
    const i = next[next.length - 1];
    if (i >= successors.length) {
      state.set(node, 'done');
      path.pop();
      next.pop();
      continue;
    }
    next[next.length - 1] = i + 1;
    const succ = successors[i];
    const seen = state.get(succ);
    if (seen === 'active') return [...path.slice(path.indexOf(succ)), succ];
    if (seen === 'done') continue;
    state.set(succ, 'active');
    path.push(succ);
    next.push(0);
  }
  return null;
}

/**
 * For every task, the tasks that list it as upstream, in spec order. When an id repeats, its
 * first definition counts.
 */
export function directDownstream(spec: DagSpec): Map<string, string[]> {
  const tasks = uniqueTasks(spec);
  const down = new Map<string, string[]>();
  for (const task of tasks) down.set(task.taskId, []);
  for (const task of tasks) {
    for (const up of new Set(task.upstream)) down.get(up)?.push(task.taskId);
  }
  return down;
}

/** Tasks by id, first definition first, in spec order. */
function uniqueTasks(spec: DagSpec): TaskSpec[] {
  const first = new Map<string, TaskSpec>();
  for (const task of spec.tasks) if (!first.has(task.taskId)) first.set(task.taskId, task);
  return [...first.values()];
}

/** All tasks downstream of `taskId`, directly or not, in spec order, excluding itself. */
export function downstreamOf(spec: DagSpec, taskId: string): string[] {
  const down = directDownstream(spec);
  const reached = new Set<string>();
  const queue = [...(down.get(taskId) ?? [])];
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (reached.has(id) || id === taskId) continue;
    reached.add(id);
    queue.push(...(down.get(id) ?? []));
  }
  return spec.tasks.map((t) => t.taskId).filter((id) => reached.has(id));
}

/**
 * Task ids with every task after its upstreams. Stable: among tasks that are ready at the
 * same time, the one earlier in the spec comes first, so an already ordered spec is
 * returned as is. Unknown upstream ids are ignored. Throws DagValidationError CYCLE.
 */
export function topologicalOrder(spec: DagSpec): string[] {
  const tasks = uniqueTasks(spec);
  const position = new Map(tasks.map((t, i) => [t.taskId, i]));
  const down = directDownstream(spec);
  const waiting = new Map<string, number>();
  for (const task of tasks) {
    waiting.set(task.taskId, new Set(task.upstream.filter((u) => position.has(u))).size);
  }
  const ready = new MinHeap();
  for (const task of tasks) if (waiting.get(task.taskId) === 0) ready.push(position.get(task.taskId) as number);
  const order: string[] = [];
  while (ready.size > 0) {
    const id = tasks[ready.pop()].taskId;
    order.push(id);
    for (const d of down.get(id) ?? []) {
      const left = (waiting.get(d) as number) - 1;
      waiting.set(d, left);
      if (left === 0) ready.push(position.get(d) as number);
    }
  }
  if (order.length < tasks.length) {
    const cycle = findCycle(
      tasks.map((t) => t.taskId),
      down,
    );
    failer(spec.dagId)('CYCLE', cycleMessage(cycle ?? []));
  }
  return order;
}

function cycleMessage(cycle: readonly string[]): string {
  return `Tasks depend on each other in a cycle: ${cycle.join(' -> ')}. Remove one of these dependencies.`;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(n: number): void {
    const a = this.items;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as number;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** Up to three ids close to `id` (same letters ignoring case, or a small edit distance). */
export function similarIds(id: string, candidates: readonly string[]): string[] {
  const lower = id.toLowerCase();
  const limit = Math.max(1, Math.floor(id.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase(), limit) }))
    .filter(({ c, d }) => c !== id && d <= limit)
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map(({ c }) => c);
}

/** Levenshtein distance, stopping early (returning limit + 1) once it exceeds limit. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      best = Math.min(best, row[j]);
    }
    if (best > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length];
}
