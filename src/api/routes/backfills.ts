import { z } from 'zod';
import { backfill } from '../../scheduler/backfill.js';
import { toApiError } from '../errors.js';
import { route } from '../route.js';
import { dagPath } from '../schemas.js';

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO-8601 date, e.g. 2026-01-31' });

const BackfillBody = z.strictObject({
  from: isoDate.describe('first logical date'),
  to: isoDate.describe('last logical date, inclusive'),
  reprocess: z.enum(['none', 'failed', 'completed']).default('none'),
  max_active_runs: z.number().int().min(1).default(4),
  reverse: z.boolean().default(false),
  dry_run: z.boolean().default(false),
  confirm: z.boolean().default(false).describe('needed for more than 1,000 runs'),
  conf: z.record(z.string(), z.unknown()).optional(),
});

const BackfillResult = z.object({
  backfill_id: z.string().nullable(),
  dry_run: z.boolean(),
  runs: z.array(z.object({ logical_date: z.string(), run_id: z.string(), action: z.enum(['create', 'rerun', 'skip']), existing_state: z.string().nullable() })),
});

const toMs = (d: string) => Date.parse(/T/.test(d) ? d : `${d}T00:00:00Z`);

/** Backfills: one run per data interval in a date range. */
export const backfillRoutes = [
  route({
    method: 'post',
    path: '/dags/{dag_id}/backfills',
    tag: 'Runs',
    summary: 'Backfill a date range (or plan it with dry_run)',
    params: dagPath,
    body: BackfillBody,
    response: BackfillResult,
    status: 201,
    handler: async ({ deps, params, body, now }) => {
      try {
        const { id, plan } = await backfill(
          deps.store,
          { dagId: params.dag_id, from: toMs(body.from), to: toMs(body.to), reprocess: body.reprocess, maxActiveRuns: body.max_active_runs, reverse: body.reverse, dryRun: body.dry_run, confirmed: body.confirm, conf: body.conf },
          now,
        );
        if (!body.dry_run) deps.scheduler?.notify();
        return {
          backfill_id: id ?? null,
          dry_run: body.dry_run,
          runs: plan.map((p) => ({ logical_date: new Date(p.logicalDate).toISOString(), run_id: p.runId, action: p.action, existing_state: p.existingState ?? null })),
        };
      } catch (e) {
        throw toApiError(e);
      }
    },
  }),
];
