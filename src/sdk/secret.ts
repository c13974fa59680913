/**
 * Secrets in DAG files, as env values of command tasks:
 *
 * ```
 * env: { HF_TOKEN: secret('HF_TOKEN'), WANDB_API_KEY: secretRef({ name: 'wandb', key: 'api-key' }) }
 * ```
 *
 * Both are refs (typed as strings) that serialise to a reference in the spec, never to the
 * value; the value is looked up when a try launches (see src/secrets).
 */
import type { ExprNode, SecretEnvRef } from '../core/spec.js';
import { TrainyardError } from '../core/errors.js';
import { isRef, makeRef, type Ref, refExpr } from './refs.js';

/** Kubernetes object names: a DNS subdomain. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Keys of a Secret's data. */
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
/** Names in Trainyard's backends (`HF_TOKEN`, `wandb/api-key`). */
const BACKEND_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,252}$/;

function secretValue(expr: SecretEnvRef): Ref<string> {
  // A secret reference sits where an env value goes; core never evaluates it (the executor does).
  return makeRef<string>(expr as unknown as ExprNode);
}

/**
 * A secret from Trainyard's backends: `TRAINYARD_SECRET_<NAME>` in the scheduler's
 * environment, then the file named by `TRAINYARD_SECRETS_FILE`. Read when the try launches;
 * a missing one fails the try before it starts.
 */
export function secret(name: string): Ref<string> {
  if (!BACKEND_NAME.test(name)) {
    throw new TrainyardError('INVALID_SECRET_NAME', `secret name '${name}' must be letters, digits, '_', '.', '-' or '/' (at most 253 characters)`);
  }
  return secretValue({ $expr: 'secret', name });
}

export interface SecretRefOptions {
  /** The Kubernetes Secret's name. */
  readonly name: string;
  /** The key in its data. */
  readonly key: string;
  /** A missing Secret or key leaves the variable unset instead of failing the try. */
  readonly optional?: boolean;
}

/**
 * A key of a Kubernetes Secret. On Kubernetes the pod gets `valueFrom.secretKeyRef` and
 * Trainyard never reads the value; the local executor looks it up in the backends as
 * `<name>/<key>` (`TRAINYARD_SECRET_WANDB_API_KEY` for `{ name: 'wandb', key: 'api-key' }`).
 */
export function secretRef(ref: SecretRefOptions): Ref<string>;
export function secretRef(name: string, key: string, options?: { readonly optional?: boolean }): Ref<string>;
export function secretRef(a: SecretRefOptions | string, key?: string, options: { readonly optional?: boolean } = {}): Ref<string> {
  const ref: SecretRefOptions = typeof a === 'string' ? { name: a, key: key ?? '', optional: options.optional } : a;
  if (!SECRET_NAME.test(ref.name)) {
    throw new TrainyardError('INVALID_SECRET_NAME', `'${ref.name}' is not a valid Kubernetes Secret name (lower-case letters, digits, '-' and '.', at most 253)`);
  }
  if (!SECRET_KEY.test(ref.key)) {
    throw new TrainyardError('INVALID_SECRET_NAME', `'${ref.key}' is not a valid Secret key (letters, digits, '-', '_' and '.')`);
  }
  return secretValue({ $expr: 'secretRef', secret: ref.name, key: ref.key, ...(ref.optional ? { optional: true } : {}) });
}

/**
 * `value` with every `secret()` / `secretRef()` inside it replaced by its spec node, so that
 * DAG validation sees it and refuses it with the place it stands. For values the spec keeps
 * as data (a mapped task's `partial` and literal `expand` lists), where a ref would otherwise
 * vanish silently. Anything without a secret inside is returned as it is.
 */
export function exposeSecretRefs(value: unknown): unknown {
  if (isRef(value)) {
    const expr = refExpr(value) as { readonly $expr: string };
    return expr.$expr === 'secret' || expr.$expr === 'secretRef' ? expr : value;
  }
  if (Array.isArray(value)) {
    const exposed = value.map(exposeSecretRefs);
    return exposed.some((v, i) => v !== value[i]) ? exposed : value;
  }
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, v, exposeSecretRefs(v)] as const);
  return entries.some(([, v, e]) => e !== v) ? Object.fromEntries(entries.map(([k, , e]) => [k, e])) : value;
}
