import { execFileSync } from 'node:child_process';

/**
 * GPU device ids of this machine, from `nvidia-smi -L` ("GPU 0: NVIDIA H100 (UUID: …)" per
 * device). Run once, when the executor is made; no nvidia-smi (or a failing one) means no
 * GPUs. The ids are indexes as CUDA_VISIBLE_DEVICES takes them.
 */
export function detectGpuIds(): string[] {
  let out: string;
  try {
    out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  return parseNvidiaSmiList(out);
}

/** Device ids from `nvidia-smi -L` output; MIG lines (indented) are not devices of their own. */
export function parseNvidiaSmiList(output: string): string[] {
  const ids: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^GPU (\d+):/.exec(line);
    if (m) ids.push(m[1]);
  }
  return ids;
}

/** The configured GPUs: a count n means devices "0".."n-1"; a list is used as given. */
export function configuredGpuIds(gpus: number | readonly string[] | undefined): string[] {
  if (gpus === undefined) return detectGpuIds();
  if (typeof gpus === 'number') {
    if (!Number.isInteger(gpus) || gpus < 0) throw new RangeError(`capacity.gpus must be a whole number of devices, got ${gpus}`);
    return Array.from({ length: gpus }, (_, i) => String(i));
  }
  return [...gpus];
}
