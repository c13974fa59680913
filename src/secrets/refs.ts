/**
 * What DAG files write: `env: { WANDB_API_KEY: secretRef('wandb', 'api-key') }` or
 * `env: { HF_TOKEN: secret('HF_TOKEN') }`. Both are refs (typed as strings) that serialise to
 * a reference, never to the value.
 */
import type { ExprNode } from '../core/spec.js';
import { TrainyardError } from '../core/errors.js';
import { makeRef, type Ref } from '../sdk/refs.js';
import type { SecretExpr, SecretRefExpr } from './types.js';

/** Kubernetes object names: a DNS subdomain. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Keys of a Secret's data. */
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const BACKEND_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,252}$/;

/** A secret from Trainyard's backends (TRAINYARD_SECRET_<NAME>, the secrets file), resolved when the try launches. */
export function secret(name: string): Ref<string> {
  if (!BACKEND_NAME.test(name)) throw new TrainyardError('INVALID_SECRET_NAME', `secret name '${name}' must be letters, digits, '_', '.', '-' or '/'`);
  const expr: SecretExpr = { $expr: 'secret', name };
  return makeRef<string>(expr as unknown as ExprNode);
}

/**
 * A key of a Kubernetes Secret. On Kubernetes the pod gets `valueFrom.secretKeyRef` and
 * Trainyard never reads the value; locally it is looked up in the backends as `<name>/<key>`.
 */
export function secretRef(name: string, key: string, options: { optional?: boolean } = {}): Ref<string> {
  if (!SECRET_NAME.test(name)) throw new TrainyardError('INVALID_SECRET_NAME', `'${name}' is not a valid Kubernetes Secret name (lower-case letters, digits, '-' and '.', at most 253)`);
  if (!SECRET_KEY.test(key)) throw new TrainyardError('INVALID_SECRET_NAME', `'${key}' is not a valid Secret key (letters, digits, '-', '_' and '.')`);
  const expr: SecretRefExpr = { $expr: 'secretRef', secret: name, key, ...(options.optional ? { optional: true } : {}) };
  return makeRef<string>(expr as unknown as ExprNode);
}
