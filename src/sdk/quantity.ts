import { TrainyardError } from '../core/errors.js';

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1 / (1024 * 1024),
  k: 1000 / (1024 * 1024),
  Ki: 1 / 1024,
  M: 1e6 / (1024 * 1024),
  Mi: 1,
  G: 1e9 / (1024 * 1024),
  Gi: 1024,
  T: 1e12 / (1024 * 1024),
  Ti: 1024 * 1024,
};

/** Memory in MiB, from a number (MiB) or a Kubernetes quantity such as "512Mi", "2Gi", "1G". */
export function parseMemoryMb(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)(k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(value.trim());
  if (!m) {
    throw new TrainyardError('INVALID_QUANTITY', `invalid memory quantity '${value}': use MiB as a number, or a quantity such as "512Mi" or "2Gi"`);
  }
  return Number(m[1]) * MEMORY_UNITS[m[2] ?? ''];
}

/** CPU in cores, from a number or a Kubernetes quantity such as "500m" or "2". */
export function parseCpu(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(value.trim());
  if (!m) throw new TrainyardError('INVALID_QUANTITY', `invalid cpu quantity '${value}': use cores as a number, or millicores such as "500m"`);
  return m[2] ? Number(m[1]) / 1000 : Number(m[1]);
}

/** A MiB figure as a Kubernetes quantity ("1536Mi"). */
export function formatMemoryMb(mb: number): string {
  return `${Math.ceil(mb)}Mi`;
}
