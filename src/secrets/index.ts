/** Secret backends and references. */
export * from './types.js';
export { EnvSecretBackend, SECRET_ENV_PREFIX, secretEnvSuffix } from './env-backend.js';
export { FileSecretBackend, parseDotEnv, SECRETS_FILE_ENV } from './file-backend.js';
export {
  SecretResolver,
  secretResolverFromEnv,
  splitSecretEnv,
  toSecretKeyRef,
  resolveSecretEnv,
  resolveTrySecrets,
  type ResolvedSecretEnv,
  type SecretKeyRefEnvVar,
  type SplitEnv,
} from './resolver.js';
