/**
 * Processing callbacks (docs/architecture.md#processing-callbacks), every one authenticated by the
 * CallbackVerifier: `GET /api/processing/:id` (job spec) and
 * `POST /api/processing/:id/started|complete|failed`. Answers: 200
 * `{applied:true}`; 200 `{applied:false, reason}` for a duplicate or late
 * delivery; 409 STALE_GENERATION for a generation that is not current.
 */
import {
  type CallbackAnswer,
  CompleteBody,
  FailedBody,
  type JobSpec,
  StartedBody,
} from '@slideshow/contracts';
import { presetClosure, presetVersion } from '@slideshow/imaging/presets';
import { AppError } from '@slideshow/runtime';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.ts';
import { IMAGE_ID_PATTERN } from '../ids.ts';
import { variantPrefix } from '../keys.ts';
import { deleteGeneratedVariants } from '../orphan-sweeper.ts';
import { jsonBody } from '../request-body.ts';

/**
 * A callback for an image that no longer exists means it was deleted while an
 * attempt was in flight: that attempt may have written variants after the
 * delete removed them (found by e2e/faults). `sweepIfDeleted` sweeps them
 * before answering 404; a storage failure answers 503 instead, so the caller
 * retries and the sweep runs again. `orSweep` runs an action and sweeps when
 * it answers NOT_FOUND.
 */
function createDeletedImageSweep(services: Services) {
  const sweepIfDeleted = async (id: string): Promise<void> => {
    if (!services.repos.images.get(id)) await deleteGeneratedVariants(services.deps.store, id);
  };
  const orSweep = async <T>(id: string, action: () => T): Promise<T> => {
    try {
      return action();
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') await sweepIfDeleted(id);
      throw error;
    }
  };
  return { sweepIfDeleted, orSweep };
}

type DeletedImageSweep = ReturnType<typeof createDeletedImageSweep>;

/** Every callback: the caller authenticated first, then the body limit, then an image id that can exist. */
function guardCallbacks(app: Hono<AppEnv>, services: Services): void {
  app.use('*', async (c, next) => {
    const principal = await services.deps.callbackVerifier.verify(c.req.header('authorization'));
    c.set('logger', c.get('logger').child({ caller: principal.email ?? principal.kind }));
    await next();
  });
  // After authentication: an unauthenticated caller's body is never read.
  app.use('*', services.limitBody('callback'));

  app.use('/:id/*', async (c, next) => {
    const id = c.req.param('id') ?? '';
    if (!IMAGE_ID_PATTERN.test(id)) throw new AppError('NOT_FOUND', 'no such image');
    c.set('logger', c.get('logger').child({ imageId: id }));
    await next();
  });
}

/** `GET /:id`: the job spec of the image's generation, or of a regeneration's when the task names one. */
function jobSpecRoute(app: Hono<AppEnv>, services: Services, sweep: DeletedImageSweep): void {
  app.get('/:id', async (c) => {
    const id = c.req.param('id');
    const row = IMAGE_ID_PATTERN.test(id) ? services.repos.images.get(id) : undefined;
    if (!row) {
      if (IMAGE_ID_PATTERN.test(id)) await sweep.sweepIfDeleted(id);
      throw new AppError('NOT_FOUND', `no image ${id}`);
    }
    // A task names the generation it was started for: a regeneration's is not the image's own.
    const asked = c.req.query('generation');
    const generation =
      asked !== undefined && /^[0-9]{1,15}$/.test(asked) ? Number(asked) : undefined;
    const regenerating =
      generation !== undefined && generation !== row.generation
        ? services.regen.jobSpec(row, generation)
        : undefined;
    if (regenerating) return c.json(regenerating satisfies JobSpec);
    const { set } = services.presets;
    // The preset's settings travel with the spec (the backend's preset file is the one owner);
    // a name the file no longer has is left to the processor's own copy.
    const presets = Object.hasOwn(set.presets, row.preset)
      ? { presets: presetClosure(set, row.preset), presetVersion: presetVersion(set, row.preset) }
      : {};
    const spec: JobSpec = {
      imageId: row.id,
      generation: row.generation,
      sourceKey: row.source_key,
      sha256: row.sha256,
      preset: row.preset,
      ...(presets as Pick<JobSpec, 'presets' | 'presetVersion'>),
      variantPrefix: variantPrefix(row.id, row.preset, row.generation),
      status: row.status,
      // `started` moves an image's own generation to `processing` and nothing else does.
      begun: row.status === 'processing',
    };
    return c.json(spec);
  });
}

/** `POST /:id/started|complete|failed`: a regeneration's report goes to the regenerator, any other to the lifecycle. */
function reportRoutes(app: Hono<AppEnv>, services: Services, sweep: DeletedImageSweep): void {
  const { lifecycle, regen } = services;

  app.post('/:id/started', async (c) => {
    const body = StartedBody.parse(jsonBody(c));
    const id = c.req.param('id');
    const result = await sweep.orSweep(
      id,
      () => regen.started(id, body.generation) ?? lifecycle.started(id, body),
    );
    c.get('logger').info('processing started', { generation: body.generation, ...result });
    return c.json(result satisfies CallbackAnswer);
  });

  app.post('/:id/complete', async (c) => {
    const body = CompleteBody.parse(jsonBody(c));
    const id = c.req.param('id');
    const result = await sweep.orSweep(
      id,
      () => regen.complete(id, body) ?? lifecycle.complete(id, body),
    );
    c.get('logger').info('processing complete', {
      generation: body.generation,
      variants: body.result.variants.length,
      ...result,
    });
    return c.json(result satisfies CallbackAnswer);
  });

  app.post('/:id/failed', async (c) => {
    const body = FailedBody.parse(jsonBody(c));
    const id = c.req.param('id');
    const result = await sweep.orSweep(
      id,
      () => regen.failed(id, body) ?? lifecycle.failed(id, body),
    );
    c.get('logger').warn('processing failed', {
      generation: body.generation,
      code: body.code,
      source: body.source,
      ...result,
    });
    return c.json(result satisfies CallbackAnswer);
  });
}

/** Routes under /api/processing. */
export function processingRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  guardCallbacks(app, services);
  const sweep = createDeletedImageSweep(services);
  jobSpecRoute(app, services, sweep);
  reportRoutes(app, services, sweep);
  return app;
}
