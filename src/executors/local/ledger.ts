import type { Resources } from '../../core/spec.js';

/** CPU, memory and GPU devices of one machine: what is free, and who holds which GPU. */
export class ResourceLedger {
  private cpuUsed = 0;
  private memoryUsed = 0;
  private readonly freeGpus: string[];

  constructor(
    readonly cpuTotal: number,
    readonly memoryMbTotal: number,
    readonly gpuIds: readonly string[],
  ) {
    this.freeGpus = [...gpuIds];
  }

  /** Whether the request could ever fit on this machine; a plain-words reason when not. */
  neverFits(r: Resources): string | undefined {
    const over: string[] = [];
    if (r.cpu > this.cpuTotal) over.push(`${r.cpu} CPUs (this machine has ${this.cpuTotal})`);
    if (r.memoryMb > this.memoryMbTotal) over.push(`${r.memoryMb} MiB of memory (this machine has ${this.memoryMbTotal})`);
    if (r.gpu > this.gpuIds.length) over.push(`${r.gpu} GPUs (this machine has ${this.gpuIds.length})`);
    return over.length > 0 ? `the task asks for ${over.join(' and ')}` : undefined;
  }

  fits(r: Resources): boolean {
    // A small epsilon keeps fractional CPUs (0.1 + 0.2...) from failing on rounding.
    return this.cpuUsed + r.cpu <= this.cpuTotal + 1e-9 && this.memoryUsed + r.memoryMb <= this.memoryMbTotal && r.gpu <= this.freeGpus.length;
  }

  /** What is missing for the request to fit now, in plain words. */
  shortfall(r: Resources): string {
    const parts: string[] = [];
    if (this.cpuUsed + r.cpu > this.cpuTotal + 1e-9) parts.push(`${r.cpu} CPUs (${round(this.cpuTotal - this.cpuUsed)} of ${this.cpuTotal} free)`);
    if (this.memoryUsed + r.memoryMb > this.memoryMbTotal)
      parts.push(`${r.memoryMb} MiB of memory (${round(this.memoryMbTotal - this.memoryUsed)} of ${this.memoryMbTotal} free)`);
    if (r.gpu > this.freeGpus.length) parts.push(`${r.gpu} GPUs (${this.freeGpus.length} of ${this.gpuIds.length} free)`);
    return parts.join(', ');
  }

  /** Takes the resources; returns the GPU device ids given. Call only when fits(). */
  reserve(r: Resources): string[] {
    this.cpuUsed += r.cpu;
    this.memoryUsed += r.memoryMb;
    return this.freeGpus.splice(0, r.gpu);
  }

  release(r: Resources, gpuIds: readonly string[]): void {
    this.cpuUsed = Math.max(0, this.cpuUsed - r.cpu);
    this.memoryUsed = Math.max(0, this.memoryUsed - r.memoryMb);
    this.freeGpus.push(...gpuIds);
  }

  usage(): { cpu: number; memoryMb: number; gpu: number } {
    return { cpu: round(this.cpuUsed), memoryMb: round(this.memoryUsed), gpu: this.gpuIds.length - this.freeGpus.length };
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
