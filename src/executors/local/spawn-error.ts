import { stat } from 'node:fs/promises';
import type { CommandLaunch } from '../types.js';

/** Why a command could not be started, in words that say what to fix. `env`: the try's environment (for PATH). */
export async function describeSpawnError(
  req: CommandLaunch,
  err: { readonly code?: string; readonly message: string },
  env: Readonly<Record<string, string>>,
): Promise<string> {
  const command = req.shell ? '/bin/sh' : req.command;
  if (err.code === 'ENOENT') {
    if (req.cwd) {
      const cwdOk = await stat(req.cwd).then((s) => s.isDirectory(), () => false);
      if (!cwdOk) return `the working directory ${JSON.stringify(req.cwd)} does not exist; create it or fix the task's cwd`;
    }
    return command.includes('/')
      ? `command not found: ${JSON.stringify(command)} does not exist${req.cwd ? ` (relative to ${JSON.stringify(req.cwd)})` : ''}; check the path and the task's cwd`
      : `command not found: ${JSON.stringify(command)} is not on PATH (PATH=${env.PATH ?? 'unset'}); install it, use an absolute path, or check the task's cwd`;
  }
  if (err.code === 'EACCES') return `the command ${JSON.stringify(command)} is not executable (permission denied); chmod +x it or run it through an interpreter`;
  return `the command ${JSON.stringify(command)} could not be started: ${err.message}`;
}
