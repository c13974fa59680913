import { describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import { callbackCodeId, parseCallbackCodeId } from '../src/sdk/user-code.js';
import { notifiersFor } from '../src/scheduler/notifications.js';
import { fromReturnValue } from '../src/sensors/custom.js';

describe('custom sensors and callbacks in the spec', () => {
  it('a custom check is a function marker with its options; its function is found by task id', async () => {
    const d = dag('custom');
    d.sensor('wait', { check: async (ctx) => ctx.poke > 2, pokeInterval: '1s', checkTimeout: '5s', maxConsecutiveErrors: 4 });
    const spec = d.toSpec();
    expect(spec.tasks[0].sensor).toEqual({
      check: { $expr: 'function' },
      options: expect.objectContaining({ pokeIntervalMs: 1000, checkTimeoutMs: 5000, maxConsecutiveErrors: 4 }),
    });
    const run = d.callables('wait')!.run!;
    expect(await run({}, { poke: 3 } as never)).toBe(true);
    expect(await run({}, { poke: 0 } as never)).toBe(false);
  });

  it('built-in checks keep their defaults and carry no custom options', () => {
    const d = dag('builtin');
    d.sensor('wait', { check: { kind: 'file', path: '/tmp/x' } });
    expect(d.toSpec().tasks[0].sensor!.options).not.toHaveProperty('checkTimeoutMs');
  });

  it('refuses bad custom-check options, naming the field and the fix', () => {
    const bad = (o: Record<string, unknown>) => {
      const d = dag('bad');
      d.sensor('wait', { check: async () => true, ...o });
      return () => d.toSpec();
    };
    expect(bad({ maxConsecutiveErrors: 0 })).toThrow(/Sensor 'wait': maxConsecutiveErrors must be a whole number of at least 1, not 0/);
    expect(bad({ checkTimeout: 'soon' })).toThrow(/checkTimeout "soon" is not a duration/);
  });

  it('records which events have callbacks: defaultArgs for tasks, DAG options for runs', async () => {
    const seen: string[] = [];
    const d = dag('cb', { defaultArgs: { onFailure: () => void seen.push('default failure') }, onSuccess: () => void seen.push('run success') });
    d.task('a', { onRetry: () => void seen.push('a retry') }, () => 1);
    d.task('b', { onFailure: () => void seen.push('b own failure') }, () => 1);
    const spec = d.toSpec();
    expect(spec.callbacks).toEqual(['run_success']);
    expect(spec.tasks.map((t) => [t.taskId, t.callbacks])).toEqual([
      ['a', ['task_failed', 'task_retry']],
      ['b', ['task_failed']],
    ]);
    for (const [event, taskId] of [['task_failed', 'a'], ['task_retry', 'a'], ['task_failed', 'b'], ['run_success', undefined]] as const) {
      await d.callables(callbackCodeId(event, taskId))!.run!({}, {} as never);
    }
    expect(seen).toEqual(['default failure', 'a retry', 'b own failure', 'run success']);
    expect(d.callables(callbackCodeId('task_success', 'a'))).toBeUndefined();
    expect(parseCallbackCodeId('a')).toBeUndefined();
    expect(parseCallbackCodeId(callbackCodeId('task_failed', 'g.a'))).toEqual({ event: 'task_failed', taskId: 'g.a' });
  });

  it('sends an event to the notifiers and then to the callback of its owner', () => {
    const hook = { kind: 'webhook' as const, url: 'http://example.invalid/' };
    const d = dag('both', { notify: { task_failed: [hook] }, onFailure: () => {} });
    d.task('t', { onFailure: () => {} }, () => 1);
    d.task('quiet', {}, () => 1);
    const spec = d.toSpec();
    expect(notifiersFor('task_failed', spec, spec.tasks[0])).toEqual([hook, { kind: 'callback', taskId: 't' }]);
    expect(notifiersFor('task_failed', spec, spec.tasks[1])).toEqual([hook]);
    expect(notifiersFor('run_failed', spec)).toEqual([{ kind: 'callback' }]);
    expect(notifiersFor('run_success', spec)).toEqual([]);
  });

  it('refuses a callback that is not a function', () => {
    const d = dag('not_fn');
    d.task('t', { onSuccess: 'notify me' as never }, () => 1);
    expect(() => d.toSpec()).toThrow(/task 't': onSuccess must be a function, e.g. \(ctx\) => \{ \.\.\. \}, not "notify me"/);
  });

  it('reads what a check returned: true, false, done objects, and anything else as an error', () => {
    expect(fromReturnValue(true)).toEqual({ result: { done: true } });
    expect(fromReturnValue(false)).toEqual({ result: { done: false, detail: 'the check returned false' } });
    expect(fromReturnValue({ done: true, value: 3 })).toEqual({ result: { done: true, value: 3 } });
    expect(fromReturnValue({ done: false, detail: 'waiting for x' })).toEqual({ result: { done: false, detail: 'waiting for x' } });
    expect(fromReturnValue(undefined)).toEqual({ error: expect.stringMatching(/returned undefined; return true, false/) });
    expect(fromReturnValue('yes')).toEqual({ error: expect.stringMatching(/returned "yes"/) });
  });
});
