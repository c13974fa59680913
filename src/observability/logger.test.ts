import { describe, expect, it } from 'vitest';
import type { ExecutorEvent } from '../executors/types.js';
import { componentLoggers, createLogger, formatTextLine, lineLogger } from './logger.js';
import { MASK, SecretMasker } from './mask.js';
import { logExecutorEvent } from './task-events.js';

function capture(): { lines: Record<string, unknown>[]; destination: { write(line: string): void } } {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

const key = { dagId: 'train', runId: 'r1', taskId: 'fit', mapIndex: 3, tryNumber: 2 };

describe('server log lines', () => {
  it('one logger per component, sharing a level and a destination', () => {
    const { lines, destination } = capture();
    const logs = componentLoggers('info', destination);
    expect(logs('scheduler')).toBe(logs('scheduler'));
    logs('scheduler').info('tick');
    logs('api-server').warn('slow');
    logs('dag-processor').debug('not shown');
    expect(lines.map((l) => [l.component, l.level, l.msg])).toEqual([
      ['scheduler', 'info', 'tick'],
      ['api-server', 'warn', 'slow'],
    ]);
  });

  it('the text format shows time, component, level (unless info), message and the fields the message does not name', () => {
    const line = JSON.stringify({ level: 'warn', time: '2026-11-21T15:41:26.755Z', component: 'executor', pid: 7, dag_id: 'd', run_id: 'r', task_id: 't', try_number: 1, state: 'failed', failure_class: 'user_error', exit_code: 3, msg: 'failed d t' });
    expect(formatTextLine(line)).toBe('15:41:26.755 executor WARN: failed d t  failure_class=user_error exit_code=3\n');
    expect(formatTextLine(JSON.stringify({ level: 'info', time: '2026-11-21T15:41:26.755Z', component: 'standalone', msg: 'up' }))).toBe('15:41:26.755 standalone: up\n');
    expect(formatTextLine('not json\n')).toBe('not json\n');
    const multi = JSON.stringify({ level: 'warn', time: '2026-11-21T15:41:26.755Z', component: 'executor', reason: 'exited with code 3; last stderr lines:\nboom\n', msg: 'failed t: exited with code 3; last stderr lines:' });
    expect(formatTextLine(multi)).toBe('15:41:26.755 executor WARN: failed t: exited with code 3; last stderr lines:\n    boom\n');
  });

  it('a line function carries the fields it is given, at its level', () => {
    const { lines, destination } = capture();
    const say = lineLogger(createLogger({ component: 'scheduler', level: 'info', destination }), 'warn');
    say('run train/r1 finished: failed', { dag_id: 'train', run_id: 'r1', state: 'failed' });
    say('plain');
    expect(lines[0]).toMatchObject({ level: 'warn', dag_id: 'train', run_id: 'r1', state: 'failed', msg: 'run train/r1 finished: failed' });
    expect(lines[1]).not.toHaveProperty('dag_id');
  });

  it("executor events become lines with the try's identity and state; a failure's reason is masked", () => {
    const { lines, destination } = capture();
    const log = createLogger({ component: 'executor', level: 'debug', destination, masker: new SecretMasker(['hf-secret-123']) });
    const events: ExecutorEvent[] = [
      { type: 'pending_reason', key, reason: 'waiting for 2 GPUs' },
      { type: 'started', key, at: 1, host: 'gpu-1', pid: 42 },
      { type: 'telemetry', key, metrics: [] },
      { type: 'finished', key, at: 2, outcome: 'failed', exitCode: 3, signal: null, failureClass: 'user_error', reason: 'exit 3; last stderr lines:\nbad token hf-secret-123' },
      { type: 'finished', key: { ...key, mapIndex: -1 }, at: 3, outcome: 'success', exitCode: 0, signal: null },
    ];
    for (const e of events) logExecutorEvent(log, e);
    expect(lines).toHaveLength(4);
    const id = { dag_id: 'train', run_id: 'r1', task_id: 'fit', map_index: 3, try_number: 2 };
    expect(lines[0]).toMatchObject({ level: 'debug', ...id, event: 'try_pending', reason: 'waiting for 2 GPUs' });
    expect(lines[1]).toMatchObject({ level: 'info', ...id, event: 'try_started', state: 'running', host: 'gpu-1', pid: 42 });
    expect(lines[2]).toMatchObject({ level: 'warn', ...id, event: 'try_finished', state: 'failed', failure_class: 'user_error', exit_code: 3 });
    expect(lines[2].reason).toBe(`exit 3; last stderr lines:\nbad token ${MASK}`);
    expect(lines[3]).toMatchObject({ level: 'info', event: 'try_finished', state: 'success', exit_code: 0 });
    expect(lines[3]).not.toHaveProperty('map_index');
  });
});
