import { describe, expect, it } from 'vitest';
import { DagValidationError } from '../src/core/errors.js';
import type { DagSpec } from '../src/core/spec.js';
import { validateDagSpec } from '../src/core/validate.js';
import { ctx, dag, secret, secretRef, tpl } from '../src/index.js';

/** The error building `d` fails with. */
function buildError(d: { toSpec(): DagSpec }): DagValidationError {
  try {
    d.toSpec();
  } catch (e) {
    expect(e).toBeInstanceOf(DagValidationError);
    return e as DagValidationError;
  }
  throw new Error('expected toSpec() to throw');
}

describe('secrets outside env are refused when the DAG is built', () => {
  it('in a command task’s args: names the DAG, the task, the secret and where it is, and says to use env', () => {
    const d = dag('upload');
    d.command('push', { command: 'hf', args: ['upload', '--token', secret('HF_TOKEN')] });
    const e = buildError(d);
    expect(e.code).toBe('SECRET_MISPLACED');
    expect(e.message).toMatch(/^DAG 'upload': Task 'push' \(defined at .*secret-placement\.test\.ts:\d+\) has secret\('HF_TOKEN'\) in args\[2\]\./);
    expect(e.message).toContain("put it in env (env: { NAME: secret('HF_TOKEN') })");
    expect(e.message).toContain('or read the secret inside the task');
  });

  it('in an inline task’s inputs, nested', () => {
    const d = dag('inline');
    d.task('login', { inputs: { auth: { user: 'bot', key: secretRef({ name: 'wandb', key: 'api-key' }) } } }, () => 1);
    expect(buildError(d).message).toContain("Task 'login'");
    expect(buildError(d).message).toContain("has secretRef('wandb', 'api-key') in inputs.auth.key.");
  });

  it('as the command, inside a template of an env value, and in a cache key', () => {
    const asCommand = dag('as_command');
    asCommand.command('t', { command: secret('TOOL') });
    expect(buildError(asCommand).message).toContain("has secret('TOOL') in command.");

    const inTemplate = dag('in_template');
    inTemplate.command('t', { command: 'curl', env: { AUTH: tpl`Bearer ${secret('API_TOKEN')} for ${ctx.runId}` } });
    expect(buildError(inTemplate).message).toContain("has secret('API_TOKEN') in env.AUTH (inside a template).");

    const inCacheKey = dag('in_cache_key');
    inCacheKey.command('t', { command: 'true', cache: { key: secret('SNAPSHOT') } });
    expect(buildError(inCacheKey).message).toContain("has secret('SNAPSHOT') in cache.key.");
  });

  it('in a mapped task’s partial values and literal expand lists, where the spec keeps data as it is', () => {
    const inPartial = dag('in_partial');
    inPartial.command('each', { command: 'echo', expand: { shard: [1, 2] }, partial: { creds: { key: secret('S3_KEY') } } });
    expect(buildError(inPartial).message).toContain("has secret('S3_KEY') in partial.creds.key.");

    const inList = dag('in_list');
    inList.command('each', { command: 'echo', expand: { token: ['public', secretRef('tokens', 'second')] } });
    expect(buildError(inList).message).toContain("has secretRef('tokens', 'second') in expand.token[1].");

    // Without a secret, the data is stored as it was given.
    const plain = dag('plain_mapped');
    plain.command('each', { command: 'echo', expand: { shard: [{ a: 1 }, { a: 2 }] }, partial: { region: 'eu', at: new Date(0) } });
    const mapping = plain.toSpec().tasks[0].mapping!;
    expect(mapping.sources.shard).toEqual({ kind: 'literal', values: [{ a: 1 }, { a: 2 }] });
    expect(mapping.partial).toEqual({ region: 'eu', at: new Date(0) });
  });

  it('accepts secrets as whole env values, and a task that reads them through env', () => {
    const d = dag('fine');
    d.command('train', { command: 'python3', args: ['train.py', '--run', ctx.runId], env: { HF_TOKEN: secret('HF_TOKEN'), WANDB: secretRef('wandb', 'api-key'), PLAIN: 'x' } });
    const spec = d.toSpec();
    expect(spec.tasks[0].command!.env).toEqual({ HF_TOKEN: { $expr: 'secret', name: 'HF_TOKEN' }, WANDB: { $expr: 'secretRef', secret: 'wandb', key: 'api-key' }, PLAIN: 'x' });
  });

  it('a stored spec with a secret in a mapped task’s items is refused too', () => {
    const d = dag('mapped');
    d.command('each', { command: 'echo', args: ['x'], expand: { shard: [1, 2] }, partial: { region: 'eu' } });
    const spec = d.toSpec();
    const [task] = spec.tasks;
    const withSecret: DagSpec = { ...spec, tasks: [{ ...task, mapping: { ...task.mapping!, partial: { region: { $expr: 'secret', name: 'REGION_KEY' } } } }] };
    expect(() => validateDagSpec(withSecret)).toThrow(/has secret\('REGION_KEY'\) in partial\.region\./);
    const inList: DagSpec = { ...spec, tasks: [{ ...task, mapping: { ...task.mapping!, sources: { shard: { kind: 'literal', values: [1, { $expr: 'secretRef', secret: 's', key: 'k' }] } } } }] };
    expect(() => validateDagSpec(inList)).toThrow(/has secretRef\('s', 'k'\) in expand\.shard\[1\]\./);
  });
});
