import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dag, secret, secretRef } from '../index.js';
import type { CommandLaunch } from '../executors/types.js';
import { buildPod, type PodBuildDefaults } from '../executors/kubernetes/pod-spec.js';
import { SecretMasker } from '../observability/mask.js';
import { EnvSecretBackend, FileSecretBackend, parseDotEnv, resolveSecretEnv, resolveTrySecrets, secretResolverFromEnv, SecretResolver, splitSecretEnv } from './index.js';

function tmpFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-secrets-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('secret backends', () => {
  it('reads TRAINYARD_SECRET_<NAME>, with names normalised', async () => {
    const b = new EnvSecretBackend({ TRAINYARD_SECRET_WANDB_API_KEY: 'w-123456', TRAINYARD_SECRET_EMPTY: '' });
    expect(await b.get('wandb/api-key')).toBe('w-123456');
    expect(await b.get('WANDB_API_KEY')).toBe('w-123456');
    expect(await b.get('empty')).toBeUndefined();
    expect(await b.get('other')).toBeUndefined();
  });

  it('reads a .env file with comments, export, and quotes; errors name the line', () => {
    expect(parseDotEnv('# c\nexport A=1\nB = "x\\ny \\"q\\""\nC=\'lit $x\'\nD=plain # comment\n')).toEqual({ A: '1', B: 'x\ny "q"', C: 'lit $x', D: 'plain' });
    expect(() => parseDotEnv('A=1\nnot a line', 's.env')).toThrow(/s.env line 2: expected NAME=value/);
    expect(() => parseDotEnv('A="open', 's.env')).toThrow(/unterminated double quote/);
  });

  it('reads a JSON file, flat or nested one level, and re-reads it when it changes', async () => {
    const file = tmpFile('secrets.json', JSON.stringify({ DB_PASSWORD: 'pw-1', wandb: { 'api-key': 'wk-1' } }));
    const b = new FileSecretBackend(file);
    expect(await b.get('DB_PASSWORD')).toBe('pw-1');
    expect(await b.get('db-password')).toBe('pw-1');
    expect(await b.get('wandb/api-key')).toBe('wk-1');
    fs.writeFileSync(file, JSON.stringify({ DB_PASSWORD: 'pw-2-rotated' }));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await b.get('DB_PASSWORD')).toBe('pw-2-rotated');
    fs.writeFileSync(file, '[1]');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 10000));
    await expect(b.get('x')).rejects.toThrow(/must hold a JSON object/);
    await expect(new FileSecretBackend('/nonexistent/secrets.env').get('x')).rejects.toThrow(/cannot be read \(ENOENT\); check TRAINYARD_SECRETS_FILE/);
  });

  it('resolves env first, then the file, registers values with the masker, and names the backends when missing', async () => {
    const file = tmpFile('secrets.env', 'HF_TOKEN=hf-from-file\nONLY_FILE=file-only-value\n');
    const masker = new SecretMasker();
    const r = secretResolverFromEnv({ TRAINYARD_SECRET_HF_TOKEN: 'hf-from-env', TRAINYARD_SECRETS_FILE: file }, masker);
    // Known values are masked before any task asks for them.
    expect(masker.mask('file-only-value hf-from-env')).toBe('*** ***');
    expect(await r.get('HF_TOKEN')).toBe('hf-from-env');
    expect(await r.get('only_file')).toBe('file-only-value');
    await expect(r.get('missing-one')).rejects.toThrow(/secret 'missing-one' was not found \(looked in: environment \(TRAINYARD_SECRET_<NAME>\), then file .*secrets.env\); set TRAINYARD_SECRET_MISSING_ONE/);
  });
});

describe('secret references in DAGs', () => {
  it('serialise to references, never values, and validate Kubernetes names', () => {
    const d = dag('with_secrets');
    d.command('train', { command: 'python3', env: { WANDB_API_KEY: secretRef({ name: 'wandb', key: 'api-key' }), HF_TOKEN: secret('HF_TOKEN'), LR: '0.1' } });
    const spec = d.toSpec();
    const env = (spec.tasks.find((t) => t.taskId === 'train') as unknown as { command: { env: Record<string, unknown> } }).command.env;
    expect(env).toEqual({ WANDB_API_KEY: { $expr: 'secretRef', secret: 'wandb', key: 'api-key' }, HF_TOKEN: { $expr: 'secret', name: 'HF_TOKEN' }, LR: '0.1' });
    expect(() => secretRef('Bad_Name', 'k')).toThrow(/not a valid Kubernetes Secret name/);
    expect(() => secretRef('ok', 'bad key')).toThrow(/not a valid Secret key/);
    expect(() => secret('has space')).toThrow(/secret name/);
  });

  it('become secretKeyRef on Kubernetes and values locally', async () => {
    const masker = new SecretMasker();
    const resolver = new SecretResolver([new EnvSecretBackend({ TRAINYARD_SECRET_WANDB_API_KEY: 'wk-local-1', TRAINYARD_SECRET_HF_TOKEN: 'hf-value-1' })], masker);
    const { plain, secrets } = splitSecretEnv({
      WANDB_API_KEY: { $expr: 'secretRef', secret: 'wandb', key: 'api-key' },
      OPT: { $expr: 'secretRef', secret: 'nothere', key: 'k', optional: true },
      HF_TOKEN: { $expr: 'secret', name: 'HF_TOKEN' },
      LR: '0.1',
    });
    expect(plain).toEqual({ LR: '0.1' });
    const k8s = await resolveSecretEnv(secrets, resolver, 'kubernetes');
    expect(k8s.podEnv).toEqual([
      { name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'api-key' } } },
      { name: 'OPT', valueFrom: { secretKeyRef: { name: 'nothere', key: 'k', optional: true } } },
    ]);
    expect(k8s.values).toEqual({ HF_TOKEN: 'hf-value-1' });
    expect(masker.mask('wk-local-1')).toBe('wk-local-1'); // never read on Kubernetes
    const local = await resolveSecretEnv(secrets, resolver, 'local');
    expect(local).toEqual({ values: { WANDB_API_KEY: 'wk-local-1', HF_TOKEN: 'hf-value-1' }, podEnv: [] });
    expect(masker.mask('wk-local-1 hf-value-1')).toBe('*** ***');
  });
});

describe('secret env at launch', () => {
  const launch = (secretEnv: CommandLaunch['secretEnv']): CommandLaunch => ({
    kind: 'command',
    key: { dagId: 'd', runId: 'r', taskId: 't', mapIndex: -1, tryNumber: 1 },
    env: { TRAINYARD_DAG_ID: 'd', LR: '0.1' },
    secretEnv,
    resources: { cpu: 1, memoryMb: 128, gpu: 0 },
    killGraceMs: 1000,
    logPath: '/tmp/x.log',
    resultPath: '/tmp/result.json',
    resultLimitBytes: 1024,
    command: 'python',
    args: [],
    shell: false,
    image: 'python:3.12',
  });
  const defaults: PodBuildDefaults = {
    executorId: 'trainyard', namespace: 'ml', resultPath: '/dev/termination-log', cpuLimits: false, localOnlyEnv: [], machines: {},
    unscheduledTimeoutMs: 1000, startupTimeoutMs: 1000, onFinish: 'delete',
  };

  it('puts a secretKeyRef in the pod for secretRef and the resolved value for secret(name)', () => {
    const { pod } = buildPod({
      req: launch({ WANDB_API_KEY: { $expr: 'secretRef', secret: 'wandb', key: 'api-key' }, HF_TOKEN: { $expr: 'secret', name: 'HF_TOKEN' } }),
      defaults,
      secretValues: { HF_TOKEN: 'hf-resolved-1' },
    });
    const env = pod.spec!.containers[0].env!;
    expect(env.find((e) => e.name === 'WANDB_API_KEY')).toEqual({ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'api-key' } } });
    expect(env.find((e) => e.name === 'HF_TOKEN')).toEqual({ name: 'HF_TOKEN', value: 'hf-resolved-1' });
    expect(() => buildPod({ req: launch({ HF_TOKEN: { $expr: 'secret', name: 'HF_TOKEN' } }), defaults })).toThrow(/env HF_TOKEN: the value of secret 'HF_TOKEN' was not resolved/);
  });

  it('names the variable, the secret and the backends when one is missing, and resolves nothing when none is asked for', async () => {
    const resolver = new SecretResolver([new EnvSecretBackend({})], new SecretMasker());
    const r = await resolveTrySecrets({ DB_PASSWORD: { $expr: 'secret', name: 'db/password' } }, () => resolver, 'local');
    expect(r).toEqual({ error: expect.stringMatching(/^a secret the task needs is missing, so it was not started: env DB_PASSWORD: secret 'db\/password' was not found \(looked in: environment \(TRAINYARD_SECRET_<NAME>\)\); set TRAINYARD_SECRET_DB_PASSWORD/) });
    let asked = false;
    expect(await resolveTrySecrets(undefined, () => ((asked = true), resolver), 'local')).toEqual({ values: {}, podEnv: [] });
    expect(asked).toBe(false);
  });
});
