import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagProcessor } from '../src/dag-processing/processor.js';
import { type SchedulerHarness, tempStore } from './support/harness.js';

const SDK = path.resolve('src/index.ts');

let dir: string;
let t: Awaited<ReturnType<typeof tempStore>>;
let processor: DagProcessor;

function write(name: string, body: string) {
  fs.writeFileSync(path.join(dir, name), `import { dag, chain } from ${JSON.stringify(SDK)};\n${body}\n`);
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-dags-'));
  t = await tempStore();
  processor = new DagProcessor({ folder: dir, store: t.store, importTimeoutMs: 3_000, scanIntervalMs: 100 });
});

afterEach(async () => {
  await processor.stop();
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function errorsByFile(): Promise<Record<string, string>> {
  return Object.fromEntries((await t.store.listImportErrors()).map((e) => [path.basename(e.fileloc), e.message]));
}

describe('DAG-file processor', () => {
  it('one broken file never stops the others: syntax error, throw on import, endless loop', async () => {
    write('good.ts', `const d = dag('good'); d.command('a', { command: 'true' }); export default d;`);
    write('syntax.ts', `const d = dag('syntax'; export default d;`);
    write('throws.ts', `throw new Error('cannot reach the feature store');`);
    write('loops.ts', `while (true) {}\nexport default dag('never');`);
    write('zz_after.ts', `export const x = dag('after'); x.command('t', { command: 'true' });`);
    const summary = await processor.scanOnce();
    expect(summary.files).toBe(5);
    expect((await t.store.listDags()).map((d) => d.dag_id).sort()).toEqual(['after', 'good']);
    const errors = await errorsByFile();
    expect(Object.keys(errors).sort()).toEqual(['loops.ts', 'syntax.ts', 'throws.ts']);
    expect(errors['syntax.ts']).toMatch(/syntax\.ts:2:\d+|Expected/);
    expect(errors['throws.ts']).toContain('cannot reach the feature store');
    expect(errors['loops.ts']).toMatch(/longer than 3s/);
  }, 30_000);

  it('records a cycle with its path and a duplicate id with both places', async () => {
    write('cycle.ts', `const d = dag('cyc'); const a = d.command('a', { command: 'true' }); const b = d.command('b', { command: 'true' }); const c = d.command('c', { command: 'true' }); chain(a, b, c, a); export default d;`);
    write('dup.ts', `const d = dag('dup');\nd.command('same', { command: 'true' });\nd.command('same', { command: 'false' });\nexport default d;`);
    await processor.scanOnce();
    const errors = await errorsByFile();
    expect(errors['cycle.ts']).toMatch(/a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c/);
    expect(errors['dup.ts']).toMatch(/same/);
    expect(errors['dup.ts']).toMatch(/dup\.ts:3/);
    expect(errors['dup.ts']).toMatch(/dup\.ts:4/);
  });

  it('picks up a changed file and a new version hash, and deactivates a removed one', async () => {
    write('v.ts', `const d = dag('v'); d.command('a', { command: 'true' }); export default d;`);
    await processor.scanOnce();
    const v1 = (await t.store.getDag('v'))!.latest_version;
    // a new mtime for sure
    await new Promise((r) => setTimeout(r, 20));
    write('v.ts', `const d = dag('v'); d.command('a', { command: 'true' }); d.command('b', { command: 'true' }); export default d;`);
    fs.utimesSync(path.join(dir, 'v.ts'), new Date(), new Date(Date.now() + 5_000));
    await processor.scanOnce();
    const row = (await t.store.getDag('v'))!;
    expect(row.latest_version).not.toBe(v1);
    expect((await t.store.getSpec('v', row.latest_version))!.tasks.map((x) => x.taskId)).toEqual(['a', 'b']);
    expect(await t.store.getSpec('v', v1)).toBeDefined();
    fs.rmSync(path.join(dir, 'v.ts'));
    await processor.scanOnce();
    expect(await t.store.listDags()).toHaveLength(0);
  });

  it('a fixed file clears its import error', async () => {
    write('fix.ts', `throw new Error('boom');`);
    await processor.scanOnce();
    expect(Object.keys(await errorsByFile())).toEqual(['fix.ts']);
    write('fix.ts', `export default dag('fixed');`);
    fs.utimesSync(path.join(dir, 'fix.ts'), new Date(), new Date(Date.now() + 5_000));
    await processor.scanOnce();
    expect(await errorsByFile()).toEqual({});
    expect((await t.store.listDags()).map((d) => d.dag_id)).toEqual(['fixed']);
  });

  it('a secret outside env is an import error for its file, naming the DAG, the task and where it is; the others load', async () => {
    const withSecret = (body: string) => `import { secret, secretRef } from ${JSON.stringify(SDK)};\n${body}`;
    write('in_args.ts', withSecret(`const d = dag('upload');\nd.command('push', { command: 'hf', args: ['upload', secret('HF_TOKEN')] });\nexport default d;`));
    write('in_inputs.ts', withSecret(`const d = dag('login');\nd.task('auth', { inputs: { key: secretRef('wandb', 'api-key') } }, ({ key }) => key.length);\nexport default d;`));
    write('in_env.ts', withSecret(`const d = dag('train');\nd.command('fit', { command: 'true', env: { HF_TOKEN: secret('HF_TOKEN') } });\nexport default d;`));
    write('plain.ts', `const d = dag('plain'); d.command('a', { command: 'true' }); export default d;`);
    await processor.scanOnce();
    expect((await t.store.listDags()).map((d) => d.dag_id).sort()).toEqual(['plain', 'train']);
    const errors = await errorsByFile();
    expect(Object.keys(errors).sort()).toEqual(['in_args.ts', 'in_inputs.ts']);
    expect(errors['in_args.ts']).toContain('SECRET_MISPLACED');
    expect(errors['in_args.ts']).toMatch(/DAG 'upload'.*Task 'push' \(defined at .*in_args\.ts:4\) has secret\('HF_TOKEN'\) in args\[1\]\. .*put it in env/);
    expect(errors['in_inputs.ts']).toMatch(/DAG 'login'.*Task 'auth' \(defined at .*in_inputs\.ts:4\) has secretRef\('wandb', 'api-key'\) in inputs\.key\. .*put it in env/);
    expect((await t.store.getSpec('train', (await t.store.getDag('train'))!.latest_version))!.tasks[0].command!.env).toEqual({ HF_TOKEN: { $expr: 'secret', name: 'HF_TOKEN' } });
  });
});

export type { SchedulerHarness };
