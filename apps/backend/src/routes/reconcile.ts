/**
 * The reconcile under /api/admin (behind requireAdmin; docs/operations.md,
 * "After a restore"): what scripts/reconcile calls, batch by batch, after the
 * database was restored to an earlier point than the store.
 *
 *   POST /reconcile/variants   {dryRun?, after?, limit?}  → {dryRun, checked, findings, failed, next}
 *   GET  /reconcile/originals  ?after=&limit=             → {originals, scanned, next}
 *
 * Each request is one bounded batch (at most MAX_RECONCILE_BATCH images, or
 * MAX_SCANNED_PER_REQUEST stored originals), so a large library never holds
 * one request for long; the caller walks the batches by `next`.
 */
import {
  MAX_RECONCILE_BATCH,
  type ReconcileOriginalsAnswer,
  type ReconcileVariantsAnswer,
} from '@slideshow/contracts';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { createReconcileRepository } from '../db/reconcile-repository.ts';
import { createRowlessOriginals } from '../reconcile/rowless-originals.ts';
import { createVariantCheck } from '../reconcile/variant-check.ts';
import { jsonBody } from '../request-body.ts';

/** The body of `POST /reconcile/variants`. */
const VariantsBody = z
  .object({
    dryRun: z.boolean().default(false),
    /** The `next` of the previous batch. */
    after: z.string().max(64).default(''),
    limit: z.number().int().min(1).max(MAX_RECONCILE_BATCH).default(100),
  })
  .strict();

/** The query of `GET /reconcile/originals`. */
const OriginalsQuery = z.object({
  after: z.string().max(1024).default(''),
  limit: z.coerce.number().int().min(1).max(MAX_RECONCILE_BATCH).default(MAX_RECONCILE_BATCH),
});

/** Routes under /api/admin. */
export function reconcileRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const queries = createReconcileRepository(services.deps.db);
  const checkVariants = createVariantCheck(services, queries);
  const rowlessOriginals = createRowlessOriginals(services, queries);

  app.post('/reconcile/variants', services.limitBody('adminSmall'), async (c) => {
    const body = VariantsBody.parse(jsonBody(c) ?? {});
    const answer = await checkVariants(body);
    if (answer.failed > 0) {
      c.get('logger').warn('processed images whose variants are missing marked failed', {
        count: answer.failed,
        ids: answer.findings.filter((f) => f.failed).map((f) => f.imageId),
      });
    }
    return c.json(answer satisfies ReconcileVariantsAnswer);
  });

  app.get('/reconcile/originals', async (c) => {
    const query = OriginalsQuery.parse(c.req.query());
    return c.json((await rowlessOriginals(query)) satisfies ReconcileOriginalsAnswer);
  });
  return app;
}
