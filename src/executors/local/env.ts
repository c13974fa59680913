/**
 * The environment a local try starts from. A try does not inherit the scheduler's whole
 * environment (which may hold database passwords, cloud credentials, NODE_OPTIONS...), only
 * these variables, then the try's own contract env on top.
 */
export const INHERITED_ENV_VARS: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/** The inherited part of a try's environment, taken from this process's env. */
export function minimalEnv(names: readonly string[] = INHERITED_ENV_VARS, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
