import { type ChildProcess, fork, type ForkOptions } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Forks a module that sits next to the caller: its compiled `.js` when there is one, else
 * its `.ts` source through tsx (when running from source, as under the test runner).
 */
export function forkSibling(callerUrl: string, name: string, options: ForkOptions = {}): ChildProcess {
  const js = fileURLToPath(new URL(`./${name}.js`, callerUrl));
  if (fs.existsSync(js)) return fork(js, [], options);
  const ts = fileURLToPath(new URL(`./${name}.ts`, callerUrl));
  return fork(ts, [], { ...options, execArgv: [...(options.execArgv ?? []), '--import', 'tsx'] });
}
