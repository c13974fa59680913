import { TrainyardError } from '../core/errors.js';
import { defaultMasker, type SecretMasker } from '../observability/mask.js';
import { EnvSecretBackend } from './env-backend.js';
import { FileSecretBackend, SECRETS_FILE_ENV } from './file-backend.js';
import { type AnySecretExpr, isSecretExpr, isSecretRefExpr, type SecretBackend, type SecretRefExpr } from './types.js';

/** Looks secrets up in backends, in order, and registers every value it returns with the masker. */
export class SecretResolver {
  constructor(
    readonly backends: readonly SecretBackend[],
    private readonly masker: SecretMasker = defaultMasker,
  ) {}

  /** The value, or undefined when no backend has it. */
  async find(name: string): Promise<string | undefined> {
    for (const b of this.backends) {
      const v = await b.get(name);
      if (v !== undefined) {
        this.masker.add(v);
        return v;
      }
    }
    return undefined;
  }

  /** The value; SECRET_NOT_FOUND names the backends that were asked. */
  async get(name: string): Promise<string> {
    const v = await this.find(name);
    if (v !== undefined) return v;
    const where = this.backends.length ? this.backends.map((b) => b.description).join(', then ') : 'no secret backend is configured';
    throw new TrainyardError('SECRET_NOT_FOUND', `secret '${name}' was not found (looked in: ${where}); set TRAINYARD_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')} or add it to the file named by ${SECRETS_FILE_ENV}`);
  }
}

/** The backends from the environment: TRAINYARD_SECRET_* first, then TRAINYARD_SECRETS_FILE when set. */
export function secretResolverFromEnv(env: NodeJS.ProcessEnv = process.env, masker: SecretMasker = defaultMasker): SecretResolver {
  const backends: SecretBackend[] = [new EnvSecretBackend(env)];
  const file = env[SECRETS_FILE_ENV];
  if (file) backends.push(new FileSecretBackend(file));
  // Values known now are masked from the start, before any task asks for them.
  for (const b of backends) for (const v of (b as EnvSecretBackend | FileSecretBackend).values()) masker.add(v);
  return new SecretResolver(backends, masker);
}

/** A Kubernetes container env entry (the shape of V1EnvVar that we build). */
export interface SecretKeyRefEnvVar {
  readonly name: string;
  readonly valueFrom: { readonly secretKeyRef: { readonly name: string; readonly key: string; readonly optional?: boolean } };
}

export interface SplitEnv<V> {
  /** Everything that is not a secret, unchanged. */
  readonly plain: Record<string, V>;
  /** Secrets to resolve from the backends. */
  readonly secrets: Record<string, AnySecretExpr>;
}

/** Separates secret expressions from the rest of a task's env (before `resolveValue`). */
export function splitSecretEnv<V>(env: Readonly<Record<string, V>>): SplitEnv<V> {
  const plain: Record<string, V> = {};
  const secrets: Record<string, AnySecretExpr> = {};
  for (const [k, v] of Object.entries(env)) {
    if (isSecretExpr(v) || isSecretRefExpr(v)) secrets[k] = v;
    else plain[k] = v;
  }
  return { plain, secrets };
}

/** `valueFrom.secretKeyRef` for one variable. The value is never read by Trainyard. */
export function toSecretKeyRef(envName: string, ref: SecretRefExpr): SecretKeyRefEnvVar {
  return { name: envName, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key, ...(ref.optional ? { optional: true } : {}) } } };
}

export interface ResolvedSecretEnv {
  /** Values to put in the process env (local executor; and backend secrets on Kubernetes). */
  readonly values: Record<string, string>;
  /** Env entries for the pod (Kubernetes executor only). */
  readonly podEnv: SecretKeyRefEnvVar[];
}

/**
 * Resolves a task's secret env for one executor kind.
 * - `kubernetes`: secretRef → `valueFrom.secretKeyRef` (not read); secret(name) → resolved
 *   from the backends (it has no Kubernetes Secret to point at).
 * - anything else: both resolved from the backends (`secretRef('wandb', 'api-key')` is
 *   looked up as `wandb/api-key`); an optional ref that is missing is left unset.
 */
export async function resolveSecretEnv(
  secrets: Readonly<Record<string, AnySecretExpr>>,
  resolver: SecretResolver,
  executorKind: 'kubernetes' | 'local' | string,
): Promise<ResolvedSecretEnv> {
  const values: Record<string, string> = {};
  const podEnv: SecretKeyRefEnvVar[] = [];
  for (const [envName, s] of Object.entries(secrets)) {
    if (s.$expr === 'secretRef' && executorKind === 'kubernetes') {
      podEnv.push(toSecretKeyRef(envName, s));
      continue;
    }
    const v = await lookUp(envName, s, resolver);
    if (v !== undefined) values[envName] = v;
  }
  return { values, podEnv };
}

async function lookUp(envName: string, s: AnySecretExpr, resolver: SecretResolver): Promise<string | undefined> {
  try {
    if (s.$expr === 'secret') return await resolver.get(s.name);
    const name = `${s.secret}/${s.key}`;
    return s.optional ? await resolver.find(name) : await resolver.get(name);
  } catch (e) {
    if (!(e instanceof TrainyardError)) throw e;
    throw new TrainyardError(e.code, `env ${envName}: ${e.message}`);
  }
}

/**
 * For executors: the try's secret env, or why it cannot start (a missing secret, an
 * unreadable secrets file) as a failure reason naming the variable, the secret and the
 * backends.
 */
export async function resolveTrySecrets(
  secrets: Readonly<Record<string, AnySecretExpr>> | undefined,
  resolver: () => SecretResolver,
  executorKind: 'kubernetes' | 'local' | string,
): Promise<ResolvedSecretEnv | { readonly error: string }> {
  if (!secrets || Object.keys(secrets).length === 0) return { values: {}, podEnv: [] };
  try {
    return await resolveSecretEnv(secrets, resolver(), executorKind);
  } catch (e) {
    if (!(e instanceof TrainyardError)) throw e;
    return { error: `a secret the task needs is missing, so it was not started: ${e.message}` };
  }
}
