import { type ChildProcess, fork, type ForkOptions } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** tsx's loader, resolved from this package (not from the user's working directory). */
export const TSX_LOADER = import.meta.resolve('tsx');

/**
 * Forks a module that sits next to the caller: its compiled `.js` when there is one, else
 * its `.ts` source. With `tsx` (always, for a `.ts` entry) the child compiles TypeScript on
 * the fly, with source maps.
 */
export function forkSibling(callerUrl: string, name: string, options: ForkOptions & { tsx?: boolean } = {}): ChildProcess {
  const { tsx, ...forkOptions } = options;
  const js = fileURLToPath(new URL(`./${name}.js`, callerUrl));
  const entry = fs.existsSync(js) ? js : fileURLToPath(new URL(`./${name}.ts`, callerUrl));
  const execArgv = [...(forkOptions.execArgv ?? [])];
  if (tsx || entry.endsWith('.ts')) execArgv.push('--import', TSX_LOADER);
  return fork(entry, [], { ...forkOptions, execArgv });
}
