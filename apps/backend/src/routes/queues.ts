/**
 * The jobs page's queue routes under /api/admin (behind requireAdmin): each
 * queue's state and depth, and pausing/resuming its dispatch through the
 * `QueueAdmin` port (Cloud Tasks `queues.pause`/`resume`, the calls behind
 * `gcloud tasks queues pause|resume`). The outbox's depth is shown beside
 * them: work the backend holds before a task exists.
 */
import type { QueueAnswer, QueuesAnswer } from '@slideshow/contracts';
import { QUEUES, type QueueName } from '@slideshow/dispatch';
import { AppError, coerceError } from '@slideshow/runtime';
import { Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import { jsonBody } from '../request-body.ts';

function queueName(raw: string): QueueName {
  if (!(QUEUES as readonly string[]).includes(raw)) {
    throw new AppError('NOT_FOUND', `no queue ${raw}; the queues are ${QUEUES.join(', ')}`);
  }
  return raw as QueueName;
}

/** Routes under /api/admin. */
export function queueRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const admin = services.deps.queueAdmin;

  app.get('/queues', async (c) => {
    const outbox = services.repos.outbox.stats();
    const base = {
      outbox: {
        pending: outbox.pending,
        oldestAgeSeconds:
          outbox.oldestCreatedAt === null
            ? null
            : Math.max(0, (services.now() - outbox.oldestCreatedAt) / 1000),
      },
    };
    if (!admin) {
      return c.json({
        ...base,
        queues: [],
        note: 'this dispatcher has no queues (images go straight to Workflows)',
      } satisfies QueuesAnswer);
    }
    const queues = await Promise.all(
      QUEUES.map(async (queue): Promise<QueuesAnswer['queues'][number]> => {
        try {
          return await admin.describe(queue);
        } catch (error) {
          // One unreachable queue does not hide the other; the page shows the error.
          const e = coerceError(error);
          c.get('logger').warn('queue describe failed', { queue, error: e });
          return { queue, error: { code: e.code, message: e.message } };
        }
      }),
    );
    return c.json({ ...base, queues } satisfies QueuesAnswer);
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post(`/queues/:queue/${action}`, services.limitBody('adminSmall'), async (c) => {
      // No fields: an empty body or `{}`; any field is a 400 naming it, never ignored.
      z.object({})
        .strict()
        .parse(jsonBody(c, { emptyAs: {} }));
      const queue = queueName(c.req.param('queue'));
      if (!admin) throw new AppError('CONFLICT', 'this dispatcher has no queues to pause');
      await admin[action](queue);
      // pause/resume answer without stats; describe again for the counts.
      const snapshot = await admin.describe(queue);
      c.get('logger').info(`queue ${action}d`, { queue, state: snapshot.state });
      return c.json({ queue: snapshot } satisfies QueueAnswer);
    });
  }

  return app;
}
