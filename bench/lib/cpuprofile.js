/** Summarises a V8 .cpuprofile: self time per function and per file. */
import fs from 'node:fs';
import path from 'node:path';

export function summariseCpuProfile(file, { top = 25, repo } = {}) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = prof.timeDeltas ?? [];
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  const byFile = new Map();
  for (const [id, us] of self) {
    const cf = nodes.get(id).callFrame;
    const url = shorten(cf.url, repo);
    const fn = `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const f = url ? url.replace(/:\d+$/, '') : `(${cf.functionName || 'native'})`;
    byFile.set(f, (byFile.get(f) ?? 0) + us);
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, self_ms: Math.round(us / 100) / 10, pct: Math.round((us / totalUs) * 1000) / 10 }));
  return { file: path.basename(file), total_ms: Math.round(totalUs / 1000), top_functions: rank(byFunction), top_files: rank(byFile) };
}

function shorten(url, repo) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  if (repo && u.startsWith(repo)) u = u.slice(repo.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) u = u.slice(nm);
  return u;
}
