import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cli } from './support/cli.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-remote-'));
const dags = path.resolve('test/fixtures/dags-failures');
let server: ChildProcess | undefined;

afterAll(() => {
  server?.kill('SIGKILL');
  fs.rmSync(home, { recursive: true, force: true });
});

describe('the CLI as an API client', () => {
  it('triggers, pauses and marks on a remote server with a token; without one it says what to pass', async () => {
    server = spawn(process.execPath, [BIN, '--home', home, '--dags', dags, 'standalone', '--port', '0'], { env: { ...process.env, TRAINYARD_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout!.on('data', (d) => (out += d));
    for (let i = 0; i < 200 && !/standalone up/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    const url = /web UI and API: (http:\/\/\S+)/.exec(out)![1];
    const password = /with password (\S+)/.exec(out)![1];
    const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const { csrf_token: csrf } = (await login.json()) as { csrf_token: string };
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const made = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'cli' }) });
    const { token } = (await made.json()) as { token: string };
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-elsewhere-'));
    const remote = (args: string[], withToken = true) => cli(['--home', other, '--server', url, ...(withToken ? ['--token', token] : []), ...args]);

    const noToken = await remote(['dags', 'trigger', 'failures'], false);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/--token or TRAINYARD_TOKEN/);
    const trig = await remote(['dags', 'trigger', 'failures', '--run-id', 'remote-1', '--json']);
    expect(trig.code).toBe(0);
    expect(JSON.parse(trig.stdout)).toMatchObject({ run_id: 'remote-1', state: 'queued' });
    expect((await remote(['dags', 'pause', 'failures'])).stdout).toMatch(/failures paused/);
    const bad = await remote(['dags', 'trigger', 'failures', '--conf', '{"x": 1}', '--run-id', 'remote-1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/remote-1/);
    // the local store of the CLI's own home was never touched
    expect(fs.existsSync(path.join(other, 'trainyard.db'))).toBe(false);
    const runs = await fetch(`${url}/api/v1/dags/failures/runs`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await runs.json()) as { items: { run_id: string }[] }).items.map((r) => r.run_id)).toContain('remote-1');
    fs.rmSync(other, { recursive: true, force: true });
  }, 90_000);
});
