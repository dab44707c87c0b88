/**
 * The local-cloud application, assembled from its parts. `createLocalCloud`
 * is pure: it wires stores and routes over the given database; `start()`
 * begins the background work (task scheduler, resumed executions) and
 * `stop()` ends it, leaving every unfinished piece of work persisted.
 */
import type { Logger } from '@slideshow/runtime';
import type { Db } from './db.ts';
import { createRouter } from './router.ts';
import { startTaskDispatcher, type TaskDispatcher } from './tasks/dispatcher.ts';
import { registerTasksRoutes } from './tasks/routes.ts';
import { createTasksStore } from './tasks/store.ts';

/** Everything local-cloud needs, built by the composition root. */
export interface LocalCloudDeps {
  db: Db;
  logger: Logger;
  /** Bearer token standing in for Google OAuth access tokens (tasks with oauthToken, executions.create). */
  oauthToken: string;
  /** Bearer token standing in for Google OIDC ID tokens (the stack's callback secret). */
  oidcToken: string;
  /** How long deleted/finished task names stay unusable (Google: about an hour). */
  taskTombstoneMs?: number;
  now?: () => number;
}

/** A built, not yet started, local-cloud. */
export interface LocalCloud {
  /** Handles one HTTP request (web standard Request/Response). */
  fetch(request: Request): Promise<Response>;
  /** Starts background work: task dispatch. */
  start(): void;
  /** Stops background work and waits for it; state stays in the database. */
  stop(): Promise<void>;
}

/** Assembles local-cloud over its dependencies. */
export function createLocalCloud(deps: LocalCloudDeps): LocalCloud {
  const now = deps.now ?? Date.now;
  const router = createRouter(deps.logger.child({ component: 'api' }));
  const tasksStore = createTasksStore(deps.db, deps.taskTombstoneMs ?? 3_600_000);
  let dispatcher: TaskDispatcher | undefined;
  const noDispatcher: TaskDispatcher = {
    kick() {},
    async runNow() {},
    async stop() {},
    inFlight: () => 0,
  };
  registerTasksRoutes(router, tasksStore, () => dispatcher ?? noDispatcher, now);

  return {
    fetch: (request) => router.handle(request),
    start() {
      dispatcher ??= startTaskDispatcher({
        store: tasksStore,
        logger: deps.logger.child({ component: 'cloud-tasks' }),
        oauthToken: deps.oauthToken,
        oidcToken: deps.oidcToken,
        now,
      });
    },
    async stop() {
      await dispatcher?.stop();
      dispatcher = undefined;
    },
  };
}
