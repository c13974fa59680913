/**
 * The example pipeline's Python scripts and the Python runtime helper have their own unit
 * tests (standard library unittest: real training on the digits data, checkpoints, metric
 * lines, result files); this runs them as part of the suite.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const scripts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'scripts');

it('the example scripts pass their Python unit tests', async () => {
  const r = await run('python3', ['-m', 'unittest', 'discover', '-s', 'tests'], { cwd: scripts, timeout: 300_000 }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`python3 -m unittest failed:\n${e.stderr ?? e.message}`);
  });
  // unittest reports on stderr: "Ran N tests … OK".
  expect(r.stderr).toMatch(/Ran [1-9]\d* tests?/);
  expect(r.stderr).toMatch(/\nOK\b/);
}, 320_000);
