import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The CLI tests run the compiled CLI: rebuild it when a source file is newer than dist/.
 * (`npm test` has already built and fails on type errors; this covers running vitest alone.)
 */
export default function setup(): void {
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
    }
    return t;
  };
  const built = fs.existsSync('dist/cli/main.js') ? fs.statSync('dist/cli/main.js').mtimeMs : 0;
  if (newest('src') <= built) return;
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (!fs.existsSync('dist/cli/main.js')) throw new Error(`the build failed:\n${r.stdout}${r.stderr}`);
    process.stderr.write(`warning: the build reported errors; tests use what it emitted:\n${r.stdout}`);
  }
}
