import { describe, expect, it } from 'vitest';
import { configuredGpuIds, parseNvidiaSmiList } from './gpus.js';

describe('GPU discovery', () => {
  it('reads device indexes from `nvidia-smi -L`, not counting MIG instances as devices', () => {
    const out = [
      'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5a1c0f0e-0000-0000-0000-000000000000)',
      'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-6b2d1f1f-0000-0000-0000-000000000000)',
      '  MIG 3g.40gb     Device  0: (UUID: MIG-0c9e0000-0000-0000-0000-000000000000)',
      '',
    ].join('\n');
    expect(parseNvidiaSmiList(out)).toEqual(['0', '1']);
    expect(parseNvidiaSmiList('')).toEqual([]);
  });

  it('uses configured GPUs when given: a count or a list', () => {
    expect(configuredGpuIds(3)).toEqual(['0', '1', '2']);
    expect(configuredGpuIds(0)).toEqual([]);
    expect(configuredGpuIds(['2', '7'])).toEqual(['2', '7']);
    expect(() => configuredGpuIds(1.5)).toThrow(/whole number/);
  });
});
