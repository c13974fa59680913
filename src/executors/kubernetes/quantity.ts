/**
 * Kubernetes resource quantities ("500m", "2Gi", "1.5", "1e9") as numbers, so the pod
 * builder can compare a preset's figure with a task's. Pure.
 */

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a quantity in base units (cores, bytes, devices); NaN when it is not one. */
export function quantityValue(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * SUFFIX[m[2] ?? ''];
}

/** Cores as a quantity: whole cores as "2", else millicores ("500m"). */
export function cpuQuantity(cores: number): string {
  const milli = Math.ceil(cores * 1000 - 1e-9);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** MiB as a quantity ("1536Mi"). */
export function memoryQuantity(mb: number): string {
  return `${Math.ceil(mb - 1e-9)}Mi`;
}
