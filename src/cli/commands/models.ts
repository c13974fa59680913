import os from 'node:os';
import type { Command } from 'commander';
import { describeModel, listModels, promote, register } from '../../ml/registry.js';
import { type GlobalOptions, withRuntime } from '../context.js';
import { isoOrNull, positiveInt, printJson, printTable, UsageError } from '../format.js';

/** Exit code of `models promote` when a gate rejects the promotion (1 is an error, 2 a usage mistake). */
export const PROMOTION_REJECTED_EXIT = 3;

function actorOf(by: string | undefined): string {
  if (by) return by;
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || 'unknown';
  }
}

function jsonObject(what: string, raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${what} is not valid JSON (${(e as Error).message}); pass an object, e.g. ${what} '{"accuracy": 0.95}'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${what} must be a JSON object, e.g. ${what} '{"accuracy": 0.95}'`);
  return v as Record<string, unknown>;
}

const metricsText = (m: Readonly<Record<string, number>>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${Number(v.toPrecision(6))}`)
    .join(' ');

export function registerModelCommands(program: Command, globals: () => GlobalOptions): void {
  const models = program.command('models').description('the model registry: versions, aliases, gated promotion');

  models
    .command('list')
    .description('registered models with their latest version and aliases')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const rows = (await listModels(rt.store)).map((m) => ({
          name: m.name,
          versions: m.versions,
          latest: m.latest_version,
          aliases: Object.entries(m.aliases)
            .map(([a, v]) => `${a}=v${v}`)
            .join(' '),
          updated: isoOrNull(Number(m.updated_at)),
          ...(o.json ? { alias_versions: m.aliases, description: m.description } : {}),
        }));
        if (o.json) printJson(rows);
        else printTable(rows, ['name', 'versions', 'latest', 'aliases', 'updated']);
      }),
    );

  models
    .command('show')
    .argument('<name>')
    .description("a model's versions (metrics, lineage), aliases, alias history and promotion decisions")
    .option('--json', 'machine-readable output')
    .action((name: string, o: { json?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const d = await describeModel(rt.store, name);
        if (o.json) {
          printJson(d);
          return;
        }
        const out = process.stdout;
        out.write(`model ${d.name}${d.description ? ` — ${d.description}` : ''}\n`);
        out.write(`aliases: ${Object.entries(d.aliases).map(([a, v]) => `${a} → v${v}`).join(', ') || '(none)'}\n\nversions\n`);
        printTable(
          d.versions.map((v) => ({
            version: v.version,
            aliases: [...v.aliases, ...(v.archived ? ['(archived)'] : [])].join(' '),
            metrics: metricsText(v.metrics),
            run: v.lineage.dagId ? `${v.lineage.dagId}/${v.lineage.runId ?? ''}` : '',
            task: v.lineage.taskId ? `${v.lineage.taskId}${(v.lineage.mapIndex ?? -1) >= 0 ? `[${v.lineage.mapIndex}]` : ''}#${v.lineage.tryNumber ?? ''}` : '',
            ds: v.lineage.ds ?? '',
            created: isoOrNull(v.createdAt),
            uri: v.uri,
          })),
          ['version', 'aliases', 'metrics', 'run', 'task', 'ds', 'created', 'uri'],
        );
        if (d.history.length) {
          out.write('\nalias history\n');
          printTable(
            d.history.map((h) => ({
              when: isoOrNull(Number(h.at)),
              alias: h.alias,
              change: `${h.from_version === null ? '—' : `v${h.from_version}`} → ${h.to_version === null ? '—' : `v${h.to_version}`}`,
              by: h.actor,
              note: h.note ?? '',
            })),
            ['when', 'alias', 'change', 'by', 'note'],
          );
        }
        if (d.decisions.length) {
          out.write('\ngated promotions\n');
          printTable(
            d.decisions.map((x) => ({
              when: isoOrNull(Number(x.at)),
              version: x.version,
              alias: x.alias,
              decision: x.decision,
              metric: `${x.metric} (${x.direction}, margin ${x.margin})`,
              candidate: x.candidate_value,
              baseline: x.baseline_version === null ? '(none)' : `${x.baseline_value} (v${x.baseline_version})`,
              by: x.actor,
            })),
            ['when', 'version', 'alias', 'decision', 'metric', 'candidate', 'baseline', 'by'],
          );
        }
      }),
    );

  models
    .command('register')
    .argument('<name>')
    .description('register a new version by hand (tasks use the registry task instead)')
    .requiredOption('--uri <uri>', 'where the model is: file:///…, s3://…')
    .option('--metrics-json <json>', 'metrics, e.g. \'{"accuracy": 0.95}\'')
    .option('--params-json <json>', 'params, e.g. \'{"lr": 0.1}\'')
    .option('--description <text>')
    .option('--alias <alias...>', 'aliases to point at the new version')
    .option('--by <user>', 'who registers it (default: the OS user)')
    .option('--json', 'machine-readable output')
    .action((name: string, o: { uri: string; metricsJson?: string; paramsJson?: string; description?: string; alias?: string[]; by?: string; json?: boolean }) =>
      withRuntime(globals(), async (rt) => {
        const v = await register(
          rt.store,
          {
            name,
            uri: o.uri,
            metrics: jsonObject('--metrics-json', o.metricsJson) as Record<string, number> | undefined,
            params: jsonObject('--params-json', o.paramsJson),
            description: o.description,
            aliases: o.alias,
            actor: actorOf(o.by),
          },
          Date.now(),
        );
        if (o.json) printJson(v);
        else process.stdout.write(`registered ${v.name} version ${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}\n`);
      }),
    );

  models
    .command('promote')
    .argument('<name>')
    .argument('<version>')
    .description(`point an alias at a version (or --alias archived); with --gate-metric, only if it beats the baseline by --margin (exit ${PROMOTION_REJECTED_EXIT} when the gate says no)`)
    .requiredOption('--alias <alias>', 'staging, production, archived, or another lower-case name')
    .option('--gate-metric <metric>', 'promote only if this metric beats the baseline version')
    .option('--direction <dir>', 'max (higher is better) or min', 'max')
    .option('--margin <n>', 'how much better it must be', '0')
    .option('--against <alias>', 'the baseline: the version holding this alias', 'production')
    .option('--by <user>', 'who promotes it (default: the OS user)')
    .option('--note <text>', 'recorded in the alias history')
    .option('--json', 'machine-readable output')
    .action(
      (
        name: string,
        versionRaw: string,
        o: { alias: string; gateMetric?: string; direction: string; margin: string; against: string; by?: string; note?: string; json?: boolean },
      ) =>
        withRuntime(globals(), async (rt) => {
          const version = positiveInt('VERSION', versionRaw.replace(/^v/, ''));
          if (o.direction !== 'max' && o.direction !== 'min') throw new UsageError(`--direction must be max or min, not '${o.direction}'`);
          const margin = Number(o.margin);
          if (!Number.isFinite(margin) || margin < 0) throw new UsageError(`--margin must be a number ≥ 0, not '${o.margin}'`);
          if (!o.gateMetric && (o.margin !== '0' || o.direction !== 'max' || o.against !== 'production')) {
            throw new UsageError('--margin, --direction and --against only apply with --gate-metric');
          }
          const r = await promote(
            rt.store,
            {
              name,
              version,
              alias: o.alias,
              gate: o.gateMetric ? { metric: o.gateMetric, direction: o.direction, margin, against: o.against } : undefined,
              actor: actorOf(o.by),
              note: o.note,
            },
            Date.now(),
          );
          if (o.json) printJson(r);
          else process.stdout.write(`${r.promoted ? 'promoted' : 'not promoted'}: ${name} version ${version} → ${o.alias}: ${r.reason}\n`);
          if (!r.promoted && r.decision) process.exitCode = PROMOTION_REJECTED_EXIT;
        }),
    );
}
