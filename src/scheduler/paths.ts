import path from 'node:path';
import type { TryKey } from '../executors/types.js';

/** Where a try's files live under $TRAINYARD_HOME. Names follow Airflow's log layout. */
export class HomeLayout {
  constructor(readonly home: string) {}

  get database(): string {
    return path.join(this.home, 'trainyard.db');
  }

  private instanceParts(k: Omit<TryKey, 'tryNumber'>): string[] {
    return [`dag_id=${k.dagId}`, `run_id=${k.runId}`, `task_id=${k.taskId}`, `map_index=${k.mapIndex}`];
  }

  /** Every log of one run. */
  runLogDir(dagId: string, runId: string): string {
    return path.join(this.home, 'logs', `dag_id=${dagId}`, `run_id=${runId}`);
  }

  /** One run's folders under work/, artifacts/ and checkpoints/ (its logs are in runLogDir). */
  runFolders(dagId: string, runId: string): string[] {
    return ['work', 'artifacts', 'checkpoints'].map((top) => path.join(this.home, top, `dag_id=${dagId}`, `run_id=${runId}`));
  }

  logPath(k: TryKey): string {
    return path.join(this.home, 'logs', ...this.instanceParts(k), `attempt=${k.tryNumber}.log`);
  }

  /**
   * Where a try writes its result. One folder per task holds every try's file, so a try
   * makes no folder of its own for it (making folders is a large part of a short try's cost).
   */
  tryResultPath(k: TryKey): string {
    const [dag, run, task] = this.instanceParts(k);
    return path.join(this.home, 'work', dag, run, task, `map_index=${k.mapIndex}.attempt=${k.tryNumber}.result.json`);
  }

  artifactsDir(k: TryKey): string {
    return path.join(this.home, 'artifacts', ...this.instanceParts(k), `attempt=${k.tryNumber}`);
  }

  runArtifactsDir(dagId: string, runId: string): string {
    return path.join(this.home, 'artifacts', `dag_id=${dagId}`, `run_id=${runId}`, 'shared');
  }

  /**
   * The local folders a try's process uses: its result's, its artifacts', its checkpoints' and
   * its run's shared artifacts' (its log's folder is made with the log).
   */
  tryDirs(k: TryKey): string[] {
    return [path.dirname(this.tryResultPath(k)), this.artifactsDir(k), this.checkpointDir(k), this.runArtifactsDir(k.dagId, k.runId)];
  }

  /** The same for every try of a task instance, so a retry resumes. */
  checkpointDir(k: Omit<TryKey, 'tryNumber'>): string {
    return path.join(this.home, 'checkpoints', ...this.instanceParts(k));
  }
}
