/**
 * `GET /status` (counts, outbox depth, oldest waiting age, failures in the last
 * hour, the current or last regeneration's progress) and `GET /healthz`.
 */
import type { HealthAnswer, StatusAnswer } from '@slideshow/contracts';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.ts';

/** The ops routes. */
export function opsRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => {
    services.deps.db.prepare('SELECT 1').get();
    return c.json({ ok: true } satisfies HealthAnswer);
  });
  app.get('/status', (c) => {
    const now = services.now();
    const ageSeconds = (epochMs: number | null) =>
      epochMs === null ? null : Math.max(0, Math.round((now - epochMs) / 1000));
    const outbox = services.repos.outbox.stats();
    const oldestWaiting = services.repos.images.oldestWaitingSince();
    return c.json({
      counts: services.repos.images.countsByStatus(),
      outbox: { pending: outbox.pending, oldestAgeSeconds: ageSeconds(outbox.oldestCreatedAt) },
      oldestWaitingAgeSeconds: ageSeconds(
        oldestWaiting === null ? null : Date.parse(oldestWaiting),
      ),
      failuresLastHour: services.repos.failedTasks.countSince(
        new Date(now - 3_600_000).toISOString(),
      ),
      regeneration: regenerationStatus(services),
    } satisfies StatusAnswer);
  });
  return app;
}

/** The public part of the current (or last) regeneration run: progress only, no filter or ids. */
function regenerationStatus(services: Services): StatusAnswer['regeneration'] {
  const run = services.regen.latest();
  if (!run) return null;
  return {
    id: run.id,
    status: run.status,
    preset: run.preset,
    total: run.total,
    done: run.done,
    failed: run.failed,
    remaining: run.remaining,
    etaSeconds: run.etaSeconds,
  };
}
