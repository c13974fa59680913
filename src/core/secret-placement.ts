/**
 * Where a secret reference may stand in a task's spec. `secret(name)` and `secretRef(...)`
 * are looked up when a try launches, and only as the whole value of a command task's env
 * variable; anywhere else (the command, its args, a template, an inline task's inputs, a
 * sensor's check, a cache key, a mapped task's items) nothing would ever resolve them, so
 * the DAG is refused when it is loaded instead of its tries failing at launch.
 */
import type { SecretEnvRef, TaskSpec } from './spec.js';
import { isExpr } from './values.js';

/** A secret reference found where it is not valid. */
export interface MisplacedSecret {
  /** How the DAG file wrote it: `secret('HF_TOKEN')`, `secretRef('wandb', 'api-key')`. */
  readonly secret: string;
  /** Where it stands in the task's options: `args[1]`, `inputs.token`, `env.URL (inside a template)`. */
  readonly where: string;
}

function isSecretNode(v: unknown): v is SecretEnvRef {
  const kind = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as { $expr?: unknown }).$expr : undefined;
  return kind === 'secret' || kind === 'secretRef';
}

function describeSecret(s: SecretEnvRef): string {
  return s.$expr === 'secret' ? `secret('${s.name}')` : `secretRef('${s.secret}', '${s.key}')`;
}

/** Every secret reference inside `value`, with its path below `path`. */
function secretsIn(value: unknown, path: string, inTemplate = false): MisplacedSecret[] {
  if (isSecretNode(value)) return [{ secret: describeSecret(value), where: inTemplate ? `${path} (inside a template)` : path }];
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => secretsIn(v, `${path}[${i}]`, inTemplate));
  if (isExpr(value) && value.$expr === 'template') return value.parts.flatMap((part) => secretsIn(part, path, true));
  return Object.entries(value).flatMap(([k, v]) => secretsIn(v, path === '' ? k : `${path}.${k}`, inTemplate));
}

/** The secret references in `task` that are not the whole value of an env variable, in option order. */
export function misplacedSecrets(task: TaskSpec): MisplacedSecret[] {
  const found: MisplacedSecret[] = [];
  const command = task.command;
  if (command) {
    found.push(...secretsIn(command.command, 'command'));
    if (Array.isArray(command.args)) found.push(...secretsIn(command.args, 'args'));
    if (!isExpr(command.env)) {
      for (const [name, value] of Object.entries(command.env)) {
        if (!isSecretNode(value)) found.push(...secretsIn(value, `env.${name}`));
      }
    }
  }
  found.push(...secretsIn(task.inputs, 'inputs'));
  if (task.sensor) found.push(...secretsIn(task.sensor.check, 'check'));
  if (task.cache?.key !== undefined) found.push(...secretsIn(task.cache.key, 'cache.key'));
  if (task.mapping) {
    found.push(...secretsIn(task.mapping.partial, 'partial'));
    for (const [key, source] of Object.entries(task.mapping.sources)) {
      if (source.kind === 'literal') found.push(...secretsIn(source.values, `expand.${key}`));
    }
  }
  return found;
}
