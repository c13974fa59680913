import type { Command } from 'commander';
import { authModeFromEnv, ensureAdmin, startApi } from '../../api/index.js';
import { openRuntime } from '../../app/runtime.js';
import { type GlobalOptions, configFrom } from '../context.js';
import { UsageError } from '../format.js';
import { serveWebAssets } from '../../web-static.js';
import { componentLoggers, lineLogger, stdoutDestination } from '../../observability/logger.js';
import { secretResolverFromEnv } from '../../secrets/resolver.js';

interface ApiServerOptions {
  readonly port?: string;
  readonly host?: string;
  readonly auth?: boolean;
}

export function parsePort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be a port number (0–65535), not '${raw}'`);
  return n;
}

/** `trainyard api-server`: the REST API over the store, stateless (run several behind a load balancer). */
export function registerApiServerCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('api-server')
    .description('serve the REST API (/api/v1) over the store; creates an admin with a printed password when there is none')
    .option('--port <n>', 'port (env TRAINYARD_PORT, default 8080)')
    .option('--host <addr>', 'address to bind (env TRAINYARD_HOST, default 127.0.0.1)')
    .option('--no-auth', 'no authentication: everyone is an admin (env TRAINYARD_AUTH=none; loopback only)')
    .action(async (o: ApiServerOptions) => {
      const port = parsePort(o.port);
      const auth = o.auth === false ? 'none' : authModeFromEnv();
      const config = configFrom(globals());
      const logs = componentLoggers(config.logLevel, stdoutDestination(config.logFormat));
      const say = lineLogger(logs('api-server'));
      // Known secret values are masked in responses and logs from the start.
      secretResolverFromEnv();
      const rt = await openRuntime(config);
      try {
        if (auth === 'password') await ensureAdmin(rt.store, say);
        const { server, url } = await startApi(rt, { port, host: o.host, auth, log: lineLogger(logs('api-server'), 'error'), web: serveWebAssets() });
        say(`trainyard api-server up: ${url}/api/v1 (auth: ${auth}), database ${rt.database.description}`, { url });
        if (auth === 'none') say('authentication is off: anyone on this machine can act as an admin');
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          say(`${signal}: stopping`);
          void server
            .close()
            .then(() => rt.close())
            .then(() => process.exit(0));
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      } catch (e) {
        await rt.close();
        throw e;
      }
    });
}
