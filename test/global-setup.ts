import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The CLI tests run the compiled CLI: build it when a source file is newer than dist/. */
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
  if (newest('src') > built) execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
