/** What the figures were measured on. */
import fs from 'node:fs';
import os from 'node:os';

export function loadAverage() {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    host_cores: cpus.length,
    available_parallelism: os.availableParallelism(),
    cpu_model: cpus[0]?.model ?? null,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    load_average_1_5_15: loadAverage(),
    cgroup_cpu_max: readOr('/sys/fs/cgroup/cpu.max'),
  };
}

function readOr(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
