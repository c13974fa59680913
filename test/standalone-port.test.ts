/**
 * `standalone` whose port is taken: a clear error naming the address and what to do, and the
 * process exits (its scheduler and DAG processor stopped) instead of living on without an API.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli } from './support/cli.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-port-'));
const dags = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-port-dags-'));
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(dags, { recursive: true, force: true });
});

it('refuses a port that is in use, naming it, and exits', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  try {
    const r = await cli(['--home', home, '--dags', dags, 'standalone', '--port', String(port), '--no-auth']);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(`127.0.0.1:${port} is already in use`);
    expect(r.stderr + r.stdout).toMatch(/--port/);
  } finally {
    taken.close();
  }
}, 60_000);
