/**
 * `createServices(deps)`: the typed services object every route module and
 * worker shares — repositories, the state machine, the login limiter, the
 * upload tracker — built once per database by `createBackend` (backend.ts).
 * Pure: it prepares SQL statements and nothing else.
 */

import { BUILT_IN_PRESETS } from '@slideshow/imaging/header';
import { createLoginDevices } from './auth/login-device.ts';
import { createRateLimiter, type LoginLimiterSettings } from './auth/rate-limit.ts';
import type { AppDeps, Services } from './context.ts';
import { createLibraryRepository } from './db/library-repository.ts';
import { sha256Hex } from './ids.ts';
import { deleteImage } from './library/delete-image.ts';
import { createQueuedTasks } from './library/queued-tasks.ts';
import { createUploadTracker } from './library/upload-tracker.ts';
import { createLifecycle, createRepositories } from './lifecycle.ts';
import { createRegenerator, REGEN_DEFAULTS, type RegenSettings } from './regen/regenerator.ts';
import {
  type BodyLimitName,
  DEFAULT_IDLE_TIMEOUT_MS,
  limitBody as limitBodyWithin,
} from './request-body.ts';

/** What the services need from the workers built beside them (backend.ts). */
export interface ServiceHooks {
  /** Called after a write that added an outbox row: wakes the relay. */
  onEnqueued?: () => void;
  /** The login limiter's policy, over LOGIN_LIMITER_DEFAULTS (auth/rate-limit.ts). */
  loginLimits?: Partial<LoginLimiterSettings>;
  /** The regenerator's policy, over REGEN_DEFAULTS (regen/regenerator.ts). */
  regen?: Partial<RegenSettings>;
}

/** Builds the services object once for a set of deps. */
export function createServices(deps: AppDeps, hooks: ServiceHooks = {}): Services {
  const now = deps.now ?? Date.now;
  const monotonicNow = deps.monotonicNow ?? (() => performance.now());
  const repos = createRepositories(deps.db);
  const lifecycle = createLifecycle({
    db: deps.db,
    repos,
    now,
    ...(hooks.onEnqueued ? { onEnqueued: hooks.onEnqueued } : {}),
  });
  const loginLimiter = createRateLimiter({
    monotonicNow,
    ...(hooks.loginLimits ? { limits: hooks.loginLimits } : {}),
  });
  const loginDevices = createLoginDevices(deps.adminPasswordHash, deps.mode === 'production');
  const sessionFingerprint = sha256Hex(`admin-session\0${deps.adminPasswordHash}`);
  const trustedProxyHops = deps.trustedProxyHops ?? (deps.mode === 'production' ? 1 : 0);
  const idleMs = deps.uploadIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const limitBody = (name: BodyLimitName) => limitBodyWithin(name, idleMs);
  const presets = deps.presets ?? { set: BUILT_IN_PRESETS, current: BUILT_IN_PRESETS.default };
  const regen = createRegenerator({
    db: deps.db,
    repos,
    store: deps.store,
    presets,
    settings: { ...REGEN_DEFAULTS, ...hooks.regen },
    dispatcher: deps.dispatcher,
    logger: deps.logger.child({ component: 'regenerator' }),
    now,
    ...(hooks.onEnqueued ? { onEnqueued: hooks.onEnqueued } : {}),
  });
  const services: Services = {
    deps,
    repos,
    lifecycle,
    loginLimiter,
    loginDevices,
    sessionFingerprint,
    trustedProxyHops,
    limitBody,
    library: createLibraryRepository(deps.db),
    uploads: createUploadTracker({ remove: (ids) => services.removeImages(ids), monotonicNow }),
    removeImages: async (ids) => {
      for (const id of ids) {
        if (repos.images.get(id)) await deleteImage(services, id);
      }
    },
    queuedTasks: createQueuedTasks({
      db: deps.db,
      cancellation: deps.taskCancellation,
      logger: deps.logger.child({ component: 'task-cancellation' }),
      now,
      monotonicNow,
    }),
    now,
    presets,
    regen,
  };
  return services;
}
