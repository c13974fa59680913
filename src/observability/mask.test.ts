import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logLevelFromEnv, withContext } from './logger.js';
import { isSensitiveName, MASK, SecretMasker } from './mask.js';

describe('isSensitiveName', () => {
  it('flags names ending in a secret word, and not *_KEY_ID or look-alikes', () => {
    for (const n of ['WANDB_API_KEY', 'HF_TOKEN', 'DB_PASSWORD', 'CLIENT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'apiKey', 'client-secret', 'password', 'GOOGLE_APPLICATION_CREDENTIALS', 'BASIC_AUTH']) {
      expect(isSensitiveName(n), n).toBe(true);
    }
    for (const n of ['AWS_ACCESS_KEY_ID', 'PATH', 'HOME', 'KEYBOARD', 'TOKENIZER', 'MONKEY', 'SECRETARY_NAME', 'PASSWORD_MIN_LENGTH', 'AUTHOR']) {
      expect(isSensitiveName(n), n).toBe(false);
    }
  });
});

describe('SecretMasker', () => {
  it('masks every occurrence, longest first, and leaves values under 4 characters alone', () => {
    const m = new SecretMasker(['hunter2', 'hunter2-long', 'abc', 'a.b*c']);
    expect(m.mask('pw=hunter2 and hunter2-long and abc and a.b*c but not aXbbc')).toBe(`pw=${MASK} and ${MASK} and abc and ${MASK} but not aXbbc`);
    expect(new SecretMasker().mask('nothing to do')).toBe('nothing to do');
  });

  it('masks JSON-escaped and URL-encoded forms, and each line of a multi-line value', () => {
    const m = new SecretMasker(['p@ss/"word"', '-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA\n-----END KEY-----']);
    expect(m.mask(JSON.stringify({ pw: 'p@ss/"word"' }))).toBe(`{"pw":"${MASK}"}`);
    expect(m.mask('postgres://u:p%40ss%2F%22word%22@db/x')).toBe(`postgres://u:${MASK}@db/x`);
    expect(m.mask('line: MIIEpAIBAAKCAQEA')).toBe(`line: ${MASK}`);
  });

  it('adds env values whose names look sensitive', () => {
    const m = new SecretMasker().addEnv({ WANDB_API_KEY: 'wandb-123456', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', LR: '0.01' });
    expect(m.mask('wandb-123456 AKIAEXAMPLE 0.01')).toBe(`${MASK} AKIAEXAMPLE 0.01`);
  });

  it('masks nested values and errors', () => {
    const m = new SecretMasker(['s3cr3t-value']);
    expect(m.maskDeep({ a: ['x s3cr3t-value'], b: { c: 's3cr3t-value' }, n: 3 })).toEqual({ a: [`x ${MASK}`], b: { c: MASK }, n: 3 });
    const e = Object.assign(new Error('connect failed with s3cr3t-value'), { code: 'X' });
    const masked = m.maskError(e);
    expect(masked.message).toBe(`connect failed with ${MASK}`);
    expect(masked.stack).not.toContain('s3cr3t-value');
    expect(masked.code).toBe('X');
    expect(masked).toBeInstanceOf(Error);
  });

  it('masks a secret split across chunks of a stream, at every split point', () => {
    const secret = 'tok-ABCDEFGH';
    const m = new SecretMasker([secret, 'short-one']);
    const text = `start ${secret} middle ${secret}${secret}\nnext line short-one end`;
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 3)]) {
        const s = m.stream();
        const out = s.write(text.slice(0, i)) + s.write(text.slice(i, j)) + s.write(text.slice(j)) + s.end();
        expect(out, `split at ${i}/${j}`).toBe(m.mask(text));
      }
    }
    expect(m.mask(text)).not.toContain('ABCDEFGH');
  });

  it('releases whole lines at once when no secret spans lines', () => {
    const m = new SecretMasker(['a-very-long-secret-value']);
    const s = m.stream();
    expect(s.write('epoch 1 loss 0.4\n')).toBe('epoch 1 loss 0.4\n');
    expect(s.write('partial')).toBe('');
    expect(s.end()).toBe('partial');
  });

  it('masks a megabyte against a thousand secrets quickly', () => {
    const m = new SecretMasker(Array.from({ length: 1000 }, (_, i) => `secret-${i}-${'x'.repeat(i % 20)}`));
    const text = 'lorem ipsum dolor sit amet '.repeat(40_000) + 'secret-999-' + 'x'.repeat(19);
    const t0 = performance.now();
    const out = m.mask(text);
    expect(out.endsWith(MASK)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('the JSON logger', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    return { lines, destination };
  }

  it('writes JSON lines with the component, level name, DAG/run/task context and masked secrets', () => {
    const { lines, destination } = capture();
    const masker = new SecretMasker(['pg-password-1']);
    const log = createLogger({ component: 'scheduler', level: 'debug', destination, masker });
    withContext(log, { dagId: 'train', runId: 'r1', taskId: 'fit', mapIndex: 2, tryNumber: 1 }).info({ attempt: 1 }, 'connecting with pg-password-1');
    log.debug('tick');
    log.trace('not shown');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', component: 'scheduler', dag_id: 'train', run_id: 'r1', task_id: 'fit', map_index: 2, try_number: 1, attempt: 1, msg: `connecting with ${MASK}` });
    expect(typeof lines[0].time).toBe('string');
    expect(lines[1]).toMatchObject({ level: 'debug', msg: 'tick' });
  });

  it('reads the level from TRAINYARD_LOG_LEVEL and names the allowed values when it is wrong', () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ TRAINYARD_LOG_LEVEL: 'WARN' })).toBe('warn');
    expect(() => logLevelFromEnv({ TRAINYARD_LOG_LEVEL: 'verbose' })).toThrow(/TRAINYARD_LOG_LEVEL='verbose'.*trace, debug, info, warn, error, fatal, silent/);
  });
});
