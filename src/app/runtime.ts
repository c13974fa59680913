import crypto from 'node:crypto';
import os from 'node:os';
import type { TrainyardConfig } from '../config.js';
import type { LogFields } from '../observability/logger.js';
import { DagProcessor } from '../dag-processing/processor.js';
import { LocalExecutor } from '../executors/local/local-executor.js';
import type { Executor } from '../executors/types.js';
import type { MachinePreset } from '../executors/kubernetes/options.js';
import { WorkerPool } from '../executors/worker/pool.js';
import { SensorExecutor } from '../executors/sensor/sensor-executor.js';
import { HomeLayout } from '../scheduler/paths.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { migrateToLatest, type OpenedDatabase, openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';
import { acquireSqliteLock } from './lock.js';
import { createLogShipper, type LogShipper } from './log-shipper.js';

/** An open store under a config. */
export interface Runtime {
  readonly config: TrainyardConfig;
  readonly store: Store;
  readonly layout: HomeLayout;
  readonly database: OpenedDatabase;
  close(): Promise<void>;
}

export async function openRuntime(config: TrainyardConfig, opts: { migrate?: boolean } = {}): Promise<Runtime> {
  const database = await openDatabase({ url: config.databaseUrl, poolSize: config.databasePoolSize });
  if (opts.migrate !== false) await migrateToLatest(database.db);
  return {
    config,
    store: new Store(database.db, database.dialect),
    layout: new HomeLayout(config.home),
    database,
    close: () => database.close(),
  };
}

/** The running parts of a scheduler process. */
export interface SchedulerServices {
  readonly scheduler: Scheduler;
  readonly processor?: DagProcessor;
  readonly executors: Readonly<Record<string, Executor>>;
  /** Ships finished tries' logs to the remote log store; absent when remote logging is off. */
  readonly logShipper?: LogShipper;
  /** Stops launching, lets running tasks finish within graceMs, records everything. */
  stop(graceMs: number): Promise<void>;
}

export interface ServiceOptions {
  /** Parse the DAG folder in this process (standalone, dags test). */
  readonly processDags: boolean;
  readonly log?: (line: string, fields?: LogFields) => void;
  /** The DAG processor's lines (default: `log`). */
  readonly processorLog?: (line: string) => void;
}

export async function startSchedulerServices(rt: Runtime, o: ServiceOptions): Promise<SchedulerServices> {
  const logShipper = await createLogShipper({ remoteLogs: rt.config.remoteLogs, store: rt.store, layout: rt.layout, log: o.log });
  const release = rt.database.dialect === 'sqlite' ? acquireSqliteLock(rt.config.databaseUrl) : () => {};
  const workerPool = new WorkerPool({ size: rt.config.workerPoolSize });
  const resultStore = { uri: rt.config.artifactStore, maxBytes: rt.config.resultMaxBytes };
  const local = new LocalExecutor({ capacity: { gpus: rt.config.gpus }, killGraceMs: rt.config.killGraceMs, workerPool, resultStore });
  const executors: Record<string, Executor> = { local, sensor: new SensorExecutor({ store: rt.store, workerPool }) };
  const c = rt.config;
  if (c.executor === 'kubernetes' || c.kubeconfig) {
    const { KubernetesExecutor } = await import('../executors/kubernetes/index.js');
    executors.kubernetes = new KubernetesExecutor({ kubeconfigPath: c.kubeconfig, namespace: c.k8sNamespace, defaultImage: c.k8sDefaultImage, machines: c.k8sMachines as Record<string, MachinePreset> | undefined });
  }
  const scheduler = new Scheduler({
    store: rt.store,
    executors,
    defaultExecutor: rt.config.executor,
    oomMemoryCapMb: rt.config.oomMemoryCapMb,
    layout: rt.layout,
    parallelism: rt.config.parallelism,
    killGraceMs: rt.config.killGraceMs,
    resultLimitBytes: rt.config.resultLimitBytes,
    freeRetryCap: rt.config.freeRetryCap,
    schedulerId: `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`,
    staleSchedulerMs: rt.config.schedulerStaleMs,
    workerPool,
    log: o.log,
  });
  const processor = o.processDags
    ? new DagProcessor({
        folder: rt.config.dagsFolder,
        store: rt.store,
        importTimeoutMs: rt.config.dagImportTimeoutMs,
        scanIntervalMs: rt.config.dagScanIntervalMs,
        log: o.processorLog ?? o.log,
        onChange: () => scheduler.notify(),
      })
    : undefined;
  await processor?.start();
  for (const ex of Object.values(executors)) logShipper?.attach(ex);
  await scheduler.recover(Date.now());
  scheduler.start();
  logShipper?.start();
  return {
    scheduler,
    processor,
    executors,
    logShipper,
    async stop(graceMs) {
      await processor?.stop();
      await scheduler.stop(graceMs);
      await logShipper?.close();
      await workerPool.close();
      release();
    },
  };
}
