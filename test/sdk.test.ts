import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { chain, ctx, dag, item, param, resultType, tpl, z, zip } from '../src/index.js';
import type { DagSpec, TaskSpec } from '../src/core/spec.js';

const task = (d: { toSpec(): DagSpec }, id: string): TaskSpec => d.toSpec().tasks.find((t) => t.taskId === id)!;

describe('authoring SDK', () => {
  it('builds implicit edges from refs and explicit ones from after/chain', () => {
    const d = dag('edges');
    const a = d.command('a', { command: 'true', result: resultType<{ path: string }>() });
    const b = d.command('b', { command: 'cat', args: [a.out('path')] });
    const c = d.task('c', { inputs: { p: a.output } }, ({ p }) => p.path);
    const e = d.command('e', { command: 'true' });
    chain(b, [c, e]);
    expect(task(d, 'b').upstream).toEqual(['a']);
    expect(task(d, 'c').upstream).toEqual(['a', 'b']);
    expect(task(d, 'e').upstream).toEqual(['b']);
    expect(task(d, 'b').command!.args).toEqual([{ $expr: 'result', taskId: 'a', path: ['path'] }]);
  });

  it('groups prefix ids, apply their defaults, and depend on each other through roots and leaves', () => {
    const d = dag('groups', { defaultArgs: { retries: 1, pool: 'p' } });
    const start = d.command('start', { command: 'true' });
    const fe = d.group('features', { defaultArgs: { retries: 3 } }, (g) => {
      const x = g.command('extract', { command: 'true' });
      g.group('inner', { defaultArgs: { priorityWeight: 5 } }, (gi) => {
        gi.command('scale', { command: 'true' }).after(x);
      });
    });
    const end = d.command('end', { command: 'true' });
    chain(start, fe, end);
    const spec = d.toSpec();
    expect(spec.tasks.map((t) => t.taskId)).toEqual(['start', 'features.extract', 'features.inner.scale', 'end']);
    expect(task(d, 'features.extract')).toMatchObject({ retries: 3, pool: 'p', upstream: ['start'] });
    expect(task(d, 'features.inner.scale')).toMatchObject({ retries: 3, upstream: ['features.extract'] });
    expect(task(d, 'end').upstream).toEqual(['features.inner.scale']);
    expect(spec.groups).toEqual([{ groupId: 'features', parent: undefined }, { groupId: 'features.inner', parent: 'features' }]);
  });

  it('adds up priority by the downstream weight rule by default', () => {
    const d = dag('prio');
    const a = d.command('a', { command: 'true', priorityWeight: 1 });
    const b = d.command('b', { command: 'true', priorityWeight: 10 }).after(a);
    d.command('c', { command: 'true', priorityWeight: 100 }).after(b);
    d.command('abs', { command: 'true', priorityWeight: 7, weightRule: 'absolute' }).after(a);
    expect(['a', 'b', 'c', 'abs'].map((id) => task(d, id) as unknown as { priorityWeight: number }).map((t) => t.priorityWeight)).toEqual([118, 110, 100, 7]);
  });

  it('serialises mapping: product, zip, kwargs with partial', () => {
    const d = dag('maps');
    const src = d.command('src', { command: 'true', result: resultType<{ lrs: number[] }>() });
    d.command('p', { command: 'true', expand: { lr: src.out('lrs'), l2: [0, 1] } });
    d.command('z', { command: 'true', expand: zip({ a: [1, 2], b: ['x', 'y'] }) });
    d.command('k', { command: 'true', expandKwargs: [{ lr: 1 }, { lr: 2 }], partial: { epochs: 3 } });
    expect(task(d, 'p')).toMatchObject({
      upstream: ['src'],
      mapping: { mode: 'product', sources: { lr: { kind: 'result', taskId: 'src', path: ['lrs'] }, l2: { kind: 'literal', values: [0, 1] } } },
    });
    expect(task(d, 'z')).toMatchObject({ mapping: { mode: 'zip' } });
    expect(task(d, 'k')).toMatchObject({ mapping: { mode: 'kwargs', partial: { epochs: 3 } } });
  });

  it('serialises context, params, items and templates as expressions', () => {
    const d = dag('exprs');
    d.command('t', { command: 'train', args: ['--date', ctx.ds, '--epochs', param('epochs'), '--lr', item('lr'), tpl`--out=${ctx.artifactsDir}/m.json`], expand: { lr: [1] } });
    const args = task(d, 't') as unknown as { command: { args: unknown[] } };
    expect(args.command.args).toEqual([
      '--date',
      { $expr: 'context', name: 'ds' },
      '--epochs',
      { $expr: 'param', path: ['epochs'] },
      '--lr',
      { $expr: 'item', path: ['lr'] },
      { $expr: 'template', parts: ['--out=', { $expr: 'context', name: 'artifactsDir' }, '/m.json'] },
    ]);
  });

  it('records params as JSON Schema with defaults, and result schemas', () => {
    const d = dag('p', { params: z.object({ epochs: z.number().int().default(5), name: z.string() }) });
    d.command('t', { command: 'true', result: z.object({ acc: z.number() }) });
    const spec = d.toSpec();
    expect(spec.paramsDefaults).toEqual({ epochs: 5 });
    expect(spec.paramsSchema).toMatchObject({ type: 'object', properties: { epochs: { type: 'integer' }, name: { type: 'string' } }, required: ['name'] });
    expect(spec.tasks[0].resultSchema).toMatchObject({ type: 'object', properties: { acc: { type: 'number' } } });
  });

  it('parses resources, durations and the skip code', () => {
    const d = dag('r', { defaultArgs: { retryDelay: '1m30s', executionTimeout: '2h' } });
    d.command('t', { command: 'true', resources: { cpu: '500m', memory: '2Gi', gpu: 1 } });
    expect(task(d, 't')).toMatchObject({ resources: { cpu: 0.5, memoryMb: 2048, gpu: 1 }, retryDelayMs: 90_000, executionTimeoutMs: 7_200_000, skipExitCode: 99 });
  });

  it('gives clear errors: cycle path, partial clash, bad schedule, bad duration', () => {
    const cyc = dag('cyc');
    const a = cyc.command('a', { command: 'true' });
    const b = cyc.command('b', { command: 'true' }).after(a);
    a.after(b);
    expect(() => cyc.toSpec()).toThrow(/a -> b -> a|b -> a -> b/);
    const clash = dag('clash');
    clash.command('t', { command: 'true', expand: { lr: [1] }, partial: { lr: 2 } });
    expect(() => clash.toSpec()).toThrow(/'lr' is both in partial and in expand/);
    expect(() => dag('s', { schedule: 'every day' }).toSpec()).toThrow(/invalid schedule 'every day'/);
    const dur = dag('dur');
    dur.command('t', { command: 'true', retryDelay: 'soon' });
    expect(() => dur.toSpec()).toThrow(/soon/);
  });
});

describe('typed data flow', () => {
  function typeErrors(body: string): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-types-'));
    const file = path.join(dir, 'flow.ts');
    const sdk = path.resolve('src/index.ts').replace(/\.ts$/, '.js');
    fs.writeFileSync(file, `import { dag, z } from ${JSON.stringify(sdk)};\n${body}\n`);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      types: ['node'],
    });
    const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
    fs.rmSync(dir, { recursive: true, force: true });
    return diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }

  it('accepts a correct flow', () => {
    const errors = typeErrors(`
      const d = dag('ok', { params: z.object({ threshold: z.number().default(0.9) }) });
      const train = d.command('train', { command: 'true', expand: { lr: [0.1, 0.2] }, result: z.object({ acc: z.number() }),
        args: (c) => ['--lr', String(c.item.lr)] });
      d.task('best', { inputs: { trials: train.output } }, ({ trials }, c) => trials.map((t) => t.acc).some((a) => a >= c.params.threshold));
    `);
    expect(errors).toEqual([]);
  }, 60_000);

  it('rejects a wrong type flowing between tasks at compile time', () => {
    const errors = typeErrors(`
      const d = dag('bad');
      const train = d.command('train', { command: 'true', result: z.object({ acc: z.number() }) });
      d.task('use', { inputs: { acc: train.out('acc') } }, ({ acc }) => acc.toUpperCase());
      d.command('x', { command: 'true', args: [train.out('nope')] });
    `);
    expect(errors.some((e) => /toUpperCase.*does not exist on type 'number'/.test(e))).toBe(true);
    expect(errors.some((e) => /"nope"/.test(e))).toBe(true);
  }, 60_000);
});
