#!/usr/bin/env node
/**
 * Turns one or more JSON outputs of bench/run.js into the Markdown tables of RESULTS.md.
 *
 *   node bench/report.js results-a.json [results-b.json …] > table.md
 *
 * Later files win for a scenario that appears in several.
 */
import fs from 'node:fs';

const files = process.argv.slice(2);
if (!files.length) {
  process.stderr.write('usage: node bench/report.js RESULTS.json [MORE.json …]\n');
  process.exit(2);
}
const reports = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const scenarios = {};
for (const r of reports) Object.assign(scenarios, r.scenarios);
const m = reports[0].machine;

const fmt = (v, unit = '') => (v === null || v === undefined ? '—' : `${typeof v === 'number' ? +v.toFixed(2) : v}${unit}`);
const med = (x) => x?.median;
const spread = (x) => (x && x.reps > 1 ? ` (${fmt(x.min)}–${fmt(x.max)})` : '');
const load = (s) => (s?.load_before ? `${s.load_before[0]} → ${s.load_after?.[0] ?? '?'}` : '—');
const rows = [];
const row = (id, system, metric, value, target, s) => rows.push(`| ${id} | ${system} | ${metric} | ${value} | ${target} | ${load(s)} |`);

for (const [id, s] of Object.entries(scenarios)) {
  if (s.error) {
    row(id, '—', 'error', s.error.split('\n')[0], '', s);
    continue;
  }
  const systems = Object.keys(s).filter((k) => k.startsWith('trainyard_') || k === 'airflow');
  for (const k of systems) {
    const x = s[k];
    const sys = k === 'airflow' ? 'Airflow' : `Trainyard (${k.slice('trainyard_'.length)})`;
    const reps = (v) => `${fmt(med(v))}${spread(v)}`;
    if (id === 'S1') {
      row(id, sys, 'hop median, ms', reps(x.hop_median_ms), k === 'airflow' ? '' : '≤ 5 (foundation target: ≤ 20)', s);
      row(id, sys, 'hop p95, ms', reps(x.hop_p95_ms), '', s);
    } else if (id.startsWith('S2')) {
      row(id, sys, 'tasks/s', reps(x.tasks_per_s), id === 'S2-1K-P4' ? '≥ 150 (foundation target)' : '', s);
      if (x.raw_spawn_per_s) row(id, sys, 'raw spawn /s (same run)', reps(x.raw_spawn_per_s), '', s);
      if (x.fraction_of_raw_spawn) row(id, sys, 'fraction of raw spawn', reps(x.fraction_of_raw_spawn), id === 'S2-10K' ? '≥ 0.5' : '', s);
    } else if (id === 'S3') {
      row(id, sys, `ms per task (${s.tasks} tasks)`, reps(x.ms_per_task), '', s);
      row(id, sys, 'ratio to S2-10K ms/task', fmt(x.ratio_to_s2_10k), '≤ 1.5', s);
      row(id, sys, 'scheduler peak RSS, MB', reps(x.scheduler_peak_rss_mb), '≤ 1024', s);
    } else if (id === 'S4') {
      row(id, sys, `start → first schedulable task, ms (${s.files} files)`, reps(x.start_to_first_task_ms), '≤ 10000', s);
      row(id, sys, 're-parse visible, ms', reps(x.reparse_ms), '≤ 1000', s);
    } else if (id === 'S5') {
      row(id, sys, `tasks/s (${s.tasks} inline)`, reps(x.tasks_per_s), '≥ 500', s);
    } else if (id === 'S6') {
      row(id, sys, `end to end, ms (${s.trials} trials)`, reps(x.end_to_end_ms), '', s);
      row(id, sys, `÷ ideal (Σ own / ${s.effective_parallelism})`, reps(x.ratio_to_ideal), '≤ 1.1', s);
      row(id, sys, '÷ staged ideal', reps(x.ratio_to_ideal_staged), '', s);
    } else if (id === 'MEM') {
      row(id, sys, 'standalone RSS idle, MB', reps(x.idle_rss_mb), '≤ 150', s);
      row(id, sys, 'children RSS idle, MB', reps(x.idle_children_rss_mb), '', s);
      row(id, sys, `standalone RSS peak during ${s.tasks}-task run, MB`, reps(x.during_rss_peak_mb), '≤ 300', s);
      row(id, sys, 'children RSS peak during run, MB', reps(x.during_children_rss_peak_mb), '', s);
    }
  }
  const paired = s.ratio_paired ? `; alternated pairs: median ${s.ratio_paired.median}× (${s.ratio_paired.pairs.map((x) => `${x}×`).join(', ')})` : '';
  if (s.ratio_hop_median_airflow_over_trainyard) row(id, 'ratio', 'Airflow hop ÷ Trainyard hop', `all reps: ${s.ratio_hop_median_airflow_over_trainyard}×${paired}`, '≥ 100×', s);
  if (s.ratio_tasks_per_s_trainyard_over_airflow) row(id, 'ratio', 'Trainyard tasks/s ÷ Airflow', `all reps: ${s.ratio_tasks_per_s_trainyard_over_airflow}×${paired}`, '≥ 50×', s);
}

process.stdout.write(
  `Machine: ${m.host_cores} cores (${m.cpu_model}), ${m.memory_gib} GiB, Node ${m.node}, ${m.platform}; ` +
    `${m.date.slice(0, 10)}; load average at start ${m.load_average_1_5_15.join(' / ')}.\n\n` +
    `| scenario | system | metric | median (min–max over reps) | target | load 1-min before → after |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
