import type { Command } from 'commander';
import { type SchedulerServices, startSchedulerServices } from '../../app/runtime.js';
import { triggerRun } from '../../scheduler/trigger.js';
import { type GlobalOptions, configFrom } from '../context.js';
import { openRuntime } from '../../app/runtime.js';
import { parseConf } from '../format.js';
import { waitForRun } from '../wait.js';
import { type ApiServer, authModeFromEnv, ensureAdmin, startApi } from '../../api/index.js';
import { serveWebAssets } from '../../web-static.js';
import { startMetricsServer } from '../../observability/metrics.js';
import { componentLoggers, lineLogger, stdoutDestination } from '../../observability/logger.js';
import { logExecutorEvent } from '../../observability/task-events.js';
import { secretResolverFromEnv } from '../../secrets/resolver.js';
import { parsePort } from './api-server.js';

interface ServeOptions {
  readonly trigger?: string;
  readonly conf?: string;
  readonly exitWhenDone?: boolean;
  /** Serve the API and UI (standalone). */
  readonly api?: boolean;
  readonly port?: string;
  readonly host?: string;
  readonly auth?: boolean;
}

/** Runs a scheduler (and, in standalone, the DAG processor) until SIGTERM or SIGINT. */
async function serve(globals: GlobalOptions, o: ServeOptions, processDags: boolean): Promise<void> {
  const config = configFrom(globals);
  // JSON lines on stdout, one logger per component; secrets are masked in every line.
  const logs = componentLoggers(config.logLevel, stdoutDestination(config.logFormat));
  const say = lineLogger(logs(processDags ? 'standalone' : 'scheduler'));
  secretResolverFromEnv();
  const rt = await openRuntime(config);
  let services: SchedulerServices | undefined;
  let api: ApiServer | undefined;
  let metricsServer: { close(): Promise<void> } | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      say(`${signal}: stopping; running tasks get ${config.shutdownGraceMs / 1000}s to finish`);
      await api?.close();
      await metricsServer?.close();
      await services?.stop(config.shutdownGraceMs);
      await rt.close();
      say('stopped; all state is saved');
    })();
    return stopping;
  };
  process.once('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));
  process.once('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));
  services = await startSchedulerServices(rt, { processDags, log: lineLogger(logs('scheduler')), processorLog: lineLogger(logs('dag-processor')) });
  for (const ex of Object.values(services.executors)) ex.onEvent((e) => logExecutorEvent(logs('executor'), e));
  // A scheduler without the API exposes its metrics on a port of its own when asked.
  const metricsPort = process.env.TRAINYARD_METRICS_PORT;
  if (!o.api && metricsPort) {
    const m = await startMetricsServer(parsePort(metricsPort) ?? 9090);
    metricsServer = m;
    say(`metrics: ${m.url}`);
  }
  if (o.api) {
    const auth = o.auth === false ? 'none' : authModeFromEnv();
    if (auth === 'password') await ensureAdmin(rt.store, say);
    const started = await startApi(rt, { port: parsePort(o.port), host: o.host, auth, scheduler: services.scheduler, log: lineLogger(logs('api-server'), 'error'), web: serveWebAssets() }).catch(async (e: unknown) => {
      // The scheduler is up already: stop it, or the process would live on without its API.
      await stop('the API server could not start');
      throw e;
    });
    api = started.server;
    say(`web UI and API: ${started.url} (${auth === 'none' ? 'authentication is off' : `auth: ${auth}`})`, { url: started.url });
  }
  const dags = await rt.store.listDags();
  const errors = await rt.store.listImportErrors();
  say(`trainyard ${processDags ? 'standalone' : 'scheduler'} up: home ${config.home}, database ${rt.database.description}`);
  if (processDags) say(`DAG folder ${config.dagsFolder}: ${dags.length} DAG(s), ${errors.length} import error(s)`);
  for (const e of errors) say(`import error in ${e.fileloc}: ${e.message.split('\n')[0]}`);
  if (o.trigger) {
    const { runId } = await triggerRun(rt.store, o.trigger, { conf: parseConf(o.conf) }, Date.now());
    services.scheduler.notify();
    say(`triggered ${o.trigger} run ${runId}`);
    const state = await waitForRun(rt.store, services.scheduler, o.trigger, runId, async () => {});
    say(`run ${runId} of ${o.trigger} finished: ${state}`);
    if (o.exitWhenDone) {
      await stop('done');
      process.exitCode = state === 'success' ? 0 : 1;
    }
  }
}

export function registerServeCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('standalone')
    .description('everything in one process: the DAG processor, the scheduler and the local executor, on SQLite')
    .option('--trigger <dag_id>', 'trigger one run of this DAG once the DAGs are loaded')
    .option('--conf <json>', 'params for the triggered run')
    .option('--exit-when-done', 'exit when the triggered run ends (status 0 on success)')
    .option('--port <n>', 'port of the web UI and API (env TRAINYARD_PORT, default 8080; 0 picks a free one)')
    .option('--host <addr>', 'address to bind (env TRAINYARD_HOST, default 127.0.0.1)')
    .option('--no-auth', 'no login (env TRAINYARD_AUTH=none; allowed on loopback only)')
    .action((o: ServeOptions) => serve(globals(), { ...o, api: true }, true));
  program
    .command('scheduler')
    .description('a scheduler process (DAGs are parsed by a standalone or a DAG processor)')
    .option('--process-dags', 'also parse the DAG folder in this process')
    .action((o: { processDags?: boolean }) => serve(globals(), {}, o.processDags === true));
}
