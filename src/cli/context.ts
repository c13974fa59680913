import path from 'node:path';
import { loadConfig, type TrainyardConfig } from '../config.js';
import { openRuntime, type Runtime } from '../app/runtime.js';
import { assertValidConfigEnv } from '../config-validate.js';

/** Options every command takes. */
export interface GlobalOptions {
  readonly home?: string;
  readonly dags?: string;
  /** A server to act on through its API, instead of the local store. */
  readonly server?: string;
  readonly token?: string;
}

export function configFrom(o: GlobalOptions): TrainyardConfig {
  assertValidConfigEnv(process.env);
  return loadConfig({ home: o.home, dagsFolder: o.dags ? path.resolve(o.dags) : undefined });
}

/** Opens the store for one command and closes it after. */
export async function withRuntime<T>(o: GlobalOptions, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(configFrom(o));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
