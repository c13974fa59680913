/**
 * Secrets: values a task or a server needs that must never be stored in the metadata
 * database or shown in a log. Two kinds of reference appear in DAG specs:
 *
 * - `{ $expr: 'secret', name }` (`secret('WANDB_API_KEY')`): resolved when a try launches,
 *   from the secret backends (environment, then file); the value goes into the task's
 *   environment only, and is registered with the masker.
 * - `{ $expr: 'secretRef', secret, key }` (`secretRef({ name: 'wandb', key: 'api-key' })`): a Kubernetes
 *   Secret. The Kubernetes executor turns it into `valueFrom.secretKeyRef`, so the value never
 *   leaves the cluster; the local executor resolves it from the backends as `<secret>/<key>`.
 */
import type { SecretEnvRef } from '../core/spec.js';

/** `secret(name)`: resolved from the backends when a try launches. */
export type SecretExpr = Extract<SecretEnvRef, { $expr: 'secret' }>;

/** `secretRef({ name, key })`: a key of a Kubernetes Secret (`optional`: a missing one leaves the variable unset). */
export type SecretRefExpr = Extract<SecretEnvRef, { $expr: 'secretRef' }>;

export type AnySecretExpr = SecretEnvRef;

/** Where secret values come from. */
export interface SecretBackend {
  /** For messages: `environment (TRAINYARD_SECRET_*)`, `file /etc/trainyard/secrets.json`. */
  readonly description: string;
  /** The value, or undefined when this backend does not have it. */
  get(name: string): Promise<string | undefined>;
}

export function isSecretExpr(v: unknown): v is SecretExpr {
  return typeof v === 'object' && v !== null && (v as { $expr?: unknown }).$expr === 'secret' && typeof (v as SecretExpr).name === 'string';
}

export function isSecretRefExpr(v: unknown): v is SecretRefExpr {
  const r = v as SecretRefExpr;
  return typeof v === 'object' && v !== null && r.$expr === 'secretRef' && typeof r.secret === 'string' && typeof r.key === 'string';
}
