/**
 * Preloaded (`node --import`) into a Trainyard process by the PG-S2 scenario: counts the
 * statements the process sends to Postgres, by SQL text (parameters and `IN` lists folded),
 * and writes them as JSON to the file named by its URL's `out` parameter when the process
 * exits. It wraps node-postgres's Client.query of the checkout named by `repo`:
 *
 *   node --import 'file:///…/pg-statements.mjs?out=/tmp/counts.json&repo=/path/to/checkout' …
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const params = new URL(import.meta.url).searchParams;
const out = params.get('out');
const repo = params.get('repo');
if (out && repo) {
  const pg = createRequire(path.join(repo, 'package.json'))('pg');
  const counts = new Map();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, values, callback) {
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text === 'string') {
      const key = text.replace(/\$\d+/g, '?').replace(/\?(, \?)+/g, '?…').replace(/\s+/g, ' ').trim();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return query.call(this, config, values, callback);
  };
  process.on('exit', () => {
    const rows = [...counts].sort((a, b) => b[1] - a[1]).map(([sql, n]) => ({ n, sql }));
    fs.writeFileSync(out, JSON.stringify(rows));
  });
}
