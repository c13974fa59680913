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

  logPath(k: TryKey): string {
    return path.join(this.home, 'logs', ...this.instanceParts(k), `attempt=${k.tryNumber}.log`);
  }

  /** Scratch space of one try: the result file lives here. */
  tryWorkDir(k: TryKey): string {
    return path.join(this.home, 'work', ...this.instanceParts(k), `attempt=${k.tryNumber}`);
  }

  artifactsDir(k: TryKey): string {
    return path.join(this.home, 'artifacts', ...this.instanceParts(k), `attempt=${k.tryNumber}`);
  }

  runArtifactsDir(dagId: string, runId: string): string {
    return path.join(this.home, 'artifacts', `dag_id=${dagId}`, `run_id=${runId}`, 'shared');
  }

  /** The same for every try of a task instance, so a retry resumes. */
  checkpointDir(k: Omit<TryKey, 'tryNumber'>): string {
    return path.join(this.home, 'checkpoints', ...this.instanceParts(k));
  }
}
