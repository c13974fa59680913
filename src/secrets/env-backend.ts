import type { SecretBackend } from './types.js';

export const SECRET_ENV_PREFIX = 'TRAINYARD_SECRET_';

/** `wandb/api-key` → `WANDB_API_KEY`: upper case, anything but letters and digits becomes `_`. */
export function secretEnvSuffix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/** Secrets from environment variables: secret `wandb/api-key` is `TRAINYARD_SECRET_WANDB_API_KEY`. */
export class EnvSecretBackend implements SecretBackend {
  readonly description = `environment (${SECRET_ENV_PREFIX}<NAME>)`;
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async get(name: string): Promise<string | undefined> {
    const suffix = secretEnvSuffix(name);
    if (!suffix) return undefined;
    const v = this.env[SECRET_ENV_PREFIX + suffix];
    return v === undefined || v === '' ? undefined : v;
  }

  /** Every value this backend holds (to register with the masker at startup). */
  values(): string[] {
    return Object.entries(this.env)
      .filter(([k, v]) => k.startsWith(SECRET_ENV_PREFIX) && v)
      .map(([, v]) => v as string);
  }
}
