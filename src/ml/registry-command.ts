/**
 * The command line of the registry task (`registry-task.js register|promote …`) for a DAG's
 * command task: Node running the registry task that ships with this package. Only paths are
 * computed here, so the SDK barrel may re-export it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RegistryCommand {
  /** The Node binary that runs the DAG processor (the same Node the task will run on). */
  readonly command: string;
  /** The registry task's script; append `register …` or `promote …`. */
  readonly args: readonly [string];
}

/** `{ command, args }` to spread into `d.command(id, { ...registryTask(), args: [...registryTask().args, 'register', …] })`. */
export function registryTask(): RegistryCommand {
  // Built: dist/ml/registry-task.js beside this file. From the sources (tsx): the built copy.
  const beside = fileURLToPath(new URL('./registry-task.js', import.meta.url));
  const built = fileURLToPath(new URL('../../dist/ml/registry-task.js', import.meta.url));
  return { command: process.execPath, args: [existsSync(beside) ? beside : built] };
}
