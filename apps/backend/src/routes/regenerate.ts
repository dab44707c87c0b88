/**
 * Regeneration under /api/admin (behind requireAdmin; docs/operations.md,
 * "Presets and regeneration"): a dry run with its estimates, a run started,
 * paused, resumed or cancelled, and its progress.
 *
 *   POST /regenerate                {dryRun?, filter?}  → 200 dry run | 202 {run}
 *   GET  /regenerate                                    → {preset, run, runs, pendingDeletions}
 *   GET  /regenerate/:run                               → {run}
 *   POST /regenerate/:run/pause|resume|cancel           → {run}
 */
import {
  type RegenDryRunAnswer,
  RegenFilter,
  type RegenOverviewAnswer,
  type RegenRunAnswer,
} from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { IMAGE_ID_PATTERN } from '../ids.ts';
import { jsonBody } from '../request-body.ts';

/** The body of `POST /api/admin/regenerate`. */
const RegenerateBody = z
  .object({
    dryRun: z.boolean().default(false),
    // The contract's filter, whose ids must also have the shape this backend makes.
    filter: RegenFilter.superRefine((f, ctx) => {
      f.ids?.forEach((id, i) => {
        if (!IMAGE_ID_PATTERN.test(id))
          ctx.addIssue({
            code: 'custom',
            message: `Expected an image id matching ${IMAGE_ID_PATTERN} but received ${JSON.stringify(id)}`,
            path: ['ids', i],
          });
      });
    }).default({}),
    /** Lower caps for this run than the configured ones (never higher). */
    caps: z
      .object({
        maxExecutions: z.number().int().min(1).optional(),
        maxFailures: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

function runId(raw: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw))
    throw new AppError('NOT_FOUND', `no regeneration run ${raw}`);
  return Number(raw);
}

/** Routes under /api/admin. */
export function regenerateRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const { regen } = services;

  app.post('/regenerate', services.limitBody('regenerate'), (c) => {
    const body = RegenerateBody.parse(jsonBody(c) ?? {});
    if (body.dryRun) {
      return c.json({ dryRun: true, ...regen.dryRun(body.filter) } satisfies RegenDryRunAnswer);
    }
    const run = regen.start(body.filter, body.caps);
    c.get('logger').info('regeneration started by an admin', { runId: run.id, total: run.total });
    return c.json({ run } satisfies RegenRunAnswer, 202);
  });

  app.get('/regenerate', (c) =>
    c.json({
      preset: regen.preset,
      run: regen.latest(),
      runs: regen.list(10),
      pendingDeletions: regen.pendingDeletions(),
    } satisfies RegenOverviewAnswer),
  );

  app.get('/regenerate/:run', (c) =>
    c.json({ run: regen.view(runId(c.req.param('run'))) } satisfies RegenRunAnswer),
  );

  const small = services.limitBody('adminSmall');
  app.post('/regenerate/:run/pause', small, (c) =>
    c.json({ run: regen.pause(runId(c.req.param('run'))) } satisfies RegenRunAnswer),
  );
  app.post('/regenerate/:run/resume', small, (c) =>
    c.json({ run: regen.resume(runId(c.req.param('run'))) } satisfies RegenRunAnswer),
  );
  app.post('/regenerate/:run/cancel', small, (c) =>
    c.json({ run: regen.cancel(runId(c.req.param('run'))) } satisfies RegenRunAnswer),
  );
  return app;
}
