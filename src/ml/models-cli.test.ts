import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROMOTION_REJECTED_EXIT, registerModelCommands } from '../cli/commands/models.js';
import type { Store } from '../store/store.js';
import { register } from './registry.js';

interface Harness {
  tempStore(): Promise<{ home: string; store: Store; close(): Promise<void> }>;
}
const harnessPath = '../../test/support/harness.js';

describe('trainyard models …', () => {
  let home: string;
  let store: Store;
  let close: () => Promise<void>;

  /** Runs one command line in-process; returns what it printed and the exit code it set. */
  async function run(...args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
    const program = new Command().exitOverride();
    registerModelCommands(program, () => ({ home }));
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    const before = process.exitCode;
    process.exitCode = undefined;
    try {
      await program.parseAsync(['node', 'trainyard', ...args]);
      return { out, exitCode: process.exitCode as number | undefined };
    } finally {
      spy.mockRestore();
      process.exitCode = before;
    }
  }

  beforeAll(async () => {
    ({ home, store, close } = await ((await import(harnessPath)) as Harness).tempStore());
    await register(store, { name: 'digits', uri: 'file:///m/1', metrics: { accuracy: 0.9 }, lineage: { dagId: 'digits_training', runId: 'r1', taskId: 'train', mapIndex: 2, tryNumber: 1 } }, Date.UTC(2026, 0, 1));
    await register(store, { name: 'digits', uri: 'file:///m/2', metrics: { accuracy: 0.905 } }, Date.UTC(2026, 0, 2));
  });
  afterAll(() => close());

  it('promotes, and refuses a gated promotion that does not beat production by the margin (exit 3)', async () => {
    let r = await run('models', 'promote', 'digits', '1', '--alias', 'production', '--by', 'alice');
    expect(r.out).toBe("promoted: digits version 1 → production: 'production' moved from no version to version 1\n");
    expect(r.exitCode).toBeUndefined();
    r = await run('models', 'promote', 'digits', '2', '--alias', 'production', '--gate-metric', 'accuracy', '--margin', '0.01', '--by', 'ci');
    expect(r.out).toMatch(/^not promoted: digits version 2 → production: accuracy 0\.905 vs 0\.9 of version 1 \('production'\): higher by only 0\.005, short of the margin 0\.01\n$/);
    expect(r.exitCode).toBe(PROMOTION_REJECTED_EXIT);
    await expect(run('models', 'promote', 'digits', '7', '--alias', 'production')).rejects.toThrow("model 'digits' has no version 7; its versions are 1, 2");
    await expect(run('models', 'promote', 'digits', '2', '--alias', 'production', '--margin', '0.1')).rejects.toThrow(/only apply with --gate-metric/);
  });

  it('lists and shows models', async () => {
    const list = await run('models', 'list', '--json');
    expect(JSON.parse(list.out)).toMatchObject([{ name: 'digits', versions: 2, latest: 2, aliases: 'production=v1', alias_versions: { production: 1 } }]);
    const show = await run('models', 'show', 'digits');
    expect(show.out).toContain('aliases: production → v1');
    expect(show.out).toMatch(/1\s+production\s+accuracy=0\.9\s+digits_training\/r1\s+train\[2\]#1/);
    expect(show.out).toMatch(/alias history[\s\S]*production\s+— → v1\s+alice/);
    expect(show.out).toMatch(/gated promotions[\s\S]*2\s+production\s+rejected\s+accuracy \(max, margin 0\.01\)\s+0\.905\s+0\.9 \(v1\)\s+ci/);
    const json = JSON.parse((await run('models', 'show', 'digits', '--json')).out);
    expect(json.decisions).toHaveLength(1);
    await expect(run('models', 'show', 'nope')).rejects.toThrow("model 'nope' does not exist; registered models: digits");
  });

  it('registers by hand', async () => {
    const r = await run('models', 'register', 'digits', '--uri', 'file:///m/3', '--metrics-json', '{"accuracy": 0.97}', '--alias', 'staging', '--by', 'bob');
    expect(r.out).toBe('registered digits version 3 (staging)\n');
    await expect(run('models', 'register', 'digits', '--uri', 'x', '--metrics-json', '[1]')).rejects.toThrow(/must be a JSON object/);
  });
});
