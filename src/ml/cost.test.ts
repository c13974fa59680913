import { describe, expect, it } from 'vitest';
import { summarizeCost, type TryRecord, tryUsage, usageCost, validatePriceTable } from './cost.js';

const H = 3_600_000;
const base = { dagId: 'd', runId: 'r1', taskId: 't', mapIndex: -1, tryNumber: 1, failed: false } as const;

describe('tryUsage', () => {
  it('multiplies resources by wall time', () => {
    const u = tryUsage({ ...base, startDate: 0, endDate: 2 * H, resources: { cpu: '500m', memory: '2Gi', gpu: 2 } }, 0);
    expect(u).toEqual({ wallHours: 2, cpuHours: 1, memoryGibHours: 4, gpuHours: 4 });
  });

  it('assumes one core and no memory or GPU when none were declared; a running try counts to now', () => {
    expect(tryUsage({ ...base, startDate: H, endDate: null }, 4 * H)).toEqual({ wallHours: 3, cpuHours: 3, memoryGibHours: 0, gpuHours: 0 });
  });

  it('counts nothing for a try that never started', () => {
    expect(tryUsage({ ...base, startDate: null, endDate: 5 }, 10 * H).wallHours).toBe(0);
  });
});

describe('costs', () => {
  const prices = { currency: 'USD', cpuHour: 0.05, memoryGibHour: 0.01, gpuHour: { a100: 3, default: 2 } };

  it('prices CPU, memory and GPU per type', () => {
    const u = { wallHours: 1, cpuHours: 4, memoryGibHours: 16, gpuHours: 1 };
    expect(usageCost(u, prices, 'a100')).toBeCloseTo(0.2 + 0.16 + 3);
    expect(usageCost(u, prices, 'v100')).toBeCloseTo(0.2 + 0.16 + 2);
    expect(usageCost(u, { gpuHour: 1.5 })).toBeCloseTo(1.5);
  });

  const tries: TryRecord[] = [
    // A 4-trial sweep on the gpu pool: trial 1 failed once (1 h) before succeeding.
    ...[0, 1, 2, 3].map((i) => ({ ...base, taskId: 'train', mapIndex: i, pool: 'gpu', startDate: 0, endDate: H, resources: { gpu: 1, cpu: 2, gpuType: 'a100' } })),
    { ...base, taskId: 'train', mapIndex: 1, tryNumber: 2, pool: 'gpu', startDate: H, endDate: 2 * H, failed: true, resources: { gpu: 1, cpu: 2, gpuType: 'a100' } },
    // A CPU task in another run and DAG.
    { ...base, runId: 'r2', taskId: 'prep', startDate: 0, endDate: H / 2, resources: { cpu: 4, memory: 8192 } },
    { ...base, dagId: 'e', runId: 'x', taskId: 'prep', startDate: 0, endDate: H, resources: { cpu: 1 } },
  ];

  it('sums per run, DAG, pool and sweep, failed tries included and reported apart', () => {
    const byRun = summarizeCost(tries, 'run', { now: 0, prices });
    expect(byRun.map((r) => r.key)).toEqual(['d/r1', 'd/r2', 'e/x']);
    const r1 = byRun[0];
    expect(r1).toMatchObject({ tries: 5, failedTries: 1, gpuHours: 5, cpuHours: 10, currency: 'USD' });
    expect(r1.cost).toBeCloseTo(5 * 3 + 10 * 0.05);
    expect(r1.failedCost).toBeCloseTo(3 + 2 * 0.05);
    expect(r1.failed.gpuHours).toBe(1);
    expect(byRun[1]).toMatchObject({ cpuHours: 2, memoryGibHours: 4 });
    expect(byRun[1].cost).toBeCloseTo(2 * 0.05 + 4 * 0.01);

    expect(summarizeCost(tries, 'dag', { now: 0 }).map((r) => [r.key, r.tries, r.cost])).toEqual([
      ['d', 6, undefined],
      ['e', 1, undefined],
    ]);
    expect(summarizeCost(tries, 'pool', { now: 0 }).map((r) => [r.key, r.tries, r.gpuHours])).toEqual([
      ['default_pool', 2, 0],
      ['gpu', 5, 5],
    ]);
    const sweeps = summarizeCost(tries, 'sweep', { now: 0, prices });
    expect(sweeps.map((r) => [r.key, r.tries, r.failedTries])).toEqual([['d/r1/train', 5, 1]]);
  });

  it('rejects a bad price table, naming the entry', () => {
    expect(() => validatePriceTable({ gpuHour: { h100: -1 } })).toThrow(/gpuHour\.h100 must be a number ≥ 0, got -1/);
    expect(() => summarizeCost(tries, 'run', { now: 0, prices: { cpuHour: Number.NaN } })).toThrow(/cpuHour must be a number/);
  });
});
