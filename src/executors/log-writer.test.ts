import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTelemetryLine, TryLogWriter } from './log-writer.js';
import type { MetricPoint } from './types.js';

describe('parseTelemetryLine', () => {
  it('ignores ordinary lines', () => {
    expect(parseTelemetryLine('epoch 3 done', 0)).toBeUndefined();
    expect(parseTelemetryLine('::trainyard::other {}', 0)).toBeUndefined();
  });

  it('parses metrics with and without a step', () => {
    expect(parseTelemetryLine('::trainyard::metric {"step": 3, "loss": 0.41, "accuracy": 0.87}', 5)).toEqual({
      metrics: [
        { name: 'loss', value: 0.41, step: 3, at: 5 },
        { name: 'accuracy', value: 0.87, step: 3, at: 5 },
      ],
      warnings: [],
    });
    expect(parseTelemetryLine('::trainyard::metric {"loss": 1}', 5)?.metrics).toEqual([{ name: 'loss', value: 1, step: null, at: 5 }]);
  });

  it('warns about non-numeric values, bad steps and bad JSON instead of failing', () => {
    const p = parseTelemetryLine('::trainyard::metric {"step": 1.5, "loss": "NaN", "acc": 0.9, "x": null}', 0)!;
    expect(p.metrics).toEqual([{ name: 'acc', value: 0.9, step: null, at: 0 }]);
    expect(p.warnings).toHaveLength(3);
    expect(p.warnings.join('\n')).toMatch(/step 1\.5 ignored/);
    expect(p.warnings.join('\n')).toMatch(/metric "loss" ignored: its value "NaN" is not a finite number/);
    expect(parseTelemetryLine('::trainyard::metric [1,2]', 0)!.warnings[0]).toMatch(/not a JSON object/);
    expect(parseTelemetryLine('::trainyard::params {oops', 0)!.warnings[0]).toMatch(/params line ignored: it is not valid JSON/);
  });

  it('parses params', () => {
    expect(parseTelemetryLine('::trainyard::params {"lr": 0.1, "layers": [64, 32]}', 0)).toEqual({
      metrics: [],
      params: { lr: 0.1, layers: [64, 32] },
      warnings: [],
    });
  });
});

describe('TryLogWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trainyard-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('timestamps whole lines, joins lines split across chunks, keeps streams apart, and creates the folder', async () => {
    const path = join(dir, 'a', 'b', 'try.log');
    const telemetry: [readonly MetricPoint[], unknown][] = [];
    const log = await TryLogWriter.open(path, { now: () => Date.UTC(2026, 10, 21, 10, 0, 0, 123), onTelemetry: (m, p) => telemetry.push([m, p]) });
    log.write('stdout', 'hel');
    log.write('stderr', 'warn');
    log.write('stdout', Buffer.from('lo\r\nwor'));
    log.write('stderr', 'ing\n');
    log.write('stdout', 'ld\n::trainyard::met');
    log.write('stdout', 'ric {"step": 1, "loss": 0.5}\n::trainyard::params {"lr": 0.1}\n');
    log.system('note');
    log.write('stdout', 'no newline at the end');
    await log.close();
    log.write('stdout', 'after close is dropped\n');
    const T = '2026-11-21T10:00:00.123Z';
    expect(await readFile(path, 'utf8')).toBe(
      [
        `${T} stdout | hello`,
        `${T} stderr | warning`,
        `${T} stdout | world`,
        `${T} stdout | ::trainyard::metric {"step": 1, "loss": 0.5}`,
        `${T} stdout | ::trainyard::params {"lr": 0.1}`,
        `${T} system | note`,
        `${T} stdout | no newline at the end`,
        '',
      ].join('\n'),
    );
    expect(telemetry).toEqual([[[{ name: 'loss', value: 0.5, step: 1, at: Date.UTC(2026, 10, 21, 10, 0, 0, 123) }], { lr: 0.1 }]]);
    expect(log.stderrTail()).toEqual(['warning']);
  });

  it('writes a warning line for an ignored metric and keeps the last stderr lines', async () => {
    const path = join(dir, 'try.log');
    const log = await TryLogWriter.open(path, { tailLines: 2 });
    log.write('stdout', '::trainyard::metric {"loss": "high"}\n');
    log.write('stderr', 'one\ntwo\nthree\n');
    await log.close();
    expect(await readFile(path, 'utf8')).toMatch(/system \| warning: metric "loss" ignored/);
    expect(log.stderrTail()).toEqual(['two', 'three']);
  });
});
