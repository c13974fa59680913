/** Helpers shared by the scenarios. */
import { loadAverage } from '../lib/machine.js';
import { summary, median, round } from '../lib/stats.js';

/**
 * Runs `fn(rep)` `reps` times. `peers` are run after each Trainyard rep, in the same order,
 * so two systems alternate A/B/A/B and drift hits both.
 */
export async function repeat(ctx, label, reps, fn) {
  const results = [];
  for (let i = 0; i < reps; i++) {
    ctx.log(`${label}: rep ${i + 1}/${reps} (load ${loadAverage().join(' ')})`);
    const r = await fn(i);
    results.push(r);
    // Every rep's figures also go to stderr, so a run stopped half way keeps what it measured.
    ctx.log(`${label}: rep ${i + 1} result ${JSON.stringify(r, (k, v) => (k === 'process' ? undefined : v))}`);
  }
  return results;
}

/** Median over reps of a numeric field, with the spread. */
export function acrossReps(reps, pick) {
  const values = reps.map(pick).filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)), reps: values.length };
}

export { summary };
