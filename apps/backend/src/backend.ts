/**
 * `createBackend(deps)`: the one builder of the backend. From adapters the
 * caller opened (database, store, dispatcher, verifier…) it builds, once, the
 * services (repositories, state machine, limiter), the HTTP app on them, and
 * the workers — the outbox relay, the reaper and the orphan sweeper — wired
 * to each other (a write that adds an outbox row wakes the relay). main.ts
 * calls it through the single-writer sequence once the lease is held and the
 * database restored; the tests, the harness (src/testing/test-backend.ts)
 * and the bench call the same function, so there is no second wiring.
 *
 * Nothing runs until `start()`; `stop()` stops the workers and closes the
 * dispatcher, queue admin and task cancellation it was given. The database stays the caller's.
 */
import { type App, createApp } from './app.ts';
import type { LoginLimiterSettings } from './auth/rate-limit.ts';
import type { AppDeps, Services } from './context.ts';
import {
  createOrphanSweeper,
  ORPHAN_SWEEPER_DEFAULTS,
  type OrphanSweeper,
  type OrphanSweeperSettings,
} from './orphan-sweeper.ts';
import { createOutboxRelay, type OutboxRelay, type RelaySettings } from './outbox-relay.ts';
import { createReaper, REAPER_DEFAULTS, type Reaper, type ReaperSettings } from './reaper.ts';
import type { RegenSettings } from './regen/regenerator.ts';
import { createServices } from './services.ts';

export { hashPassword } from './auth/password.ts';
export type { AppDeps, Services } from './context.ts';
export { openDatabase } from './db/open-database.ts';

/** Everything {@link createBackend} needs: the app's deps and the workers' settings. */
export interface BackendDeps extends AppDeps {
  /** The outbox relay's settings over RELAY_DEFAULTS (outbox-relay.ts). */
  relay?: Partial<RelaySettings>;
  /** The reaper's settings over REAPER_DEFAULTS (reaper.ts). */
  reaper?: Partial<ReaperSettings>;
  /** The orphan sweeper's settings over ORPHAN_SWEEPER_DEFAULTS (orphan-sweeper.ts). */
  sweeper?: Partial<OrphanSweeperSettings>;
  /** The login limiter's policy over LOGIN_LIMITER_DEFAULTS (auth/rate-limit.ts). */
  loginLimits?: Partial<LoginLimiterSettings>;
  /** The regenerator's policy over REGEN_DEFAULTS (regen/regenerator.ts). */
  regen?: Partial<RegenSettings>;
}

/** The built backend: its app, services and workers. */
export interface Backend {
  app: App;
  services: Services;
  relay: OutboxRelay;
  reaper: Reaper;
  sweeper: OrphanSweeper;
  /** The app's fetch handler (for a server, or the single-writer gate). */
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
  /** Starts the relay, the reaper, the sweeper and the regenerator's worker (idempotent). */
  start(): void;
  /** Stops the reaper, the sweeper and the regenerator's worker (they write on their own schedule). */
  stopPeriodic(): Promise<void>;
  /**
   * Stops the relay, waiting for a dispatch in flight — at most `timeoutMs`
   * when given; a dispatch still hung then keeps its outbox row, and the next
   * writer sends it again (ALREADY_EXISTS counts as success).
   */
  stopRelay(timeoutMs?: number): Promise<void>;
  /** Closes the dispatcher's, the queue admin's and the task cancellation's clients. */
  close(): Promise<void>;
  /** Stops every worker, then closes the clients. */
  stop(): Promise<void>;
}

/** Builds the backend over `deps` (nothing started). */
export function createBackend(deps: BackendDeps): Backend {
  const { relay: relaySettings, reaper: reaperSettings, sweeper: sweeperSettings } = deps;
  const logger = deps.logger;
  let relay: OutboxRelay | undefined;
  const services = createServices(deps, {
    // Set below; a write can only happen once the backend is built.
    onEnqueued: () => relay?.notify(),
    ...(deps.loginLimits ? { loginLimits: deps.loginLimits } : {}),
    ...(deps.regen ? { regen: deps.regen } : {}),
  });
  const built = createOutboxRelay({
    ...relaySettings,
    db: deps.db,
    repos: services.repos,
    lifecycle: services.lifecycle,
    regen: services.regen,
    dispatcher: deps.dispatcher,
    queuedTasks: services.queuedTasks,
    logger: logger.child({ component: 'outbox-relay' }),
    now: services.now,
  });
  relay = built;
  const reaper = createReaper({
    ...REAPER_DEFAULTS,
    ...reaperSettings,
    lifecycle: services.lifecycle,
    dispatcher: deps.dispatcher,
    logger: logger.child({ component: 'reaper' }),
  });
  const sweeper = createOrphanSweeper({
    ...ORPHAN_SWEEPER_DEFAULTS,
    ...sweeperSettings,
    store: deps.store,
    repos: services.repos,
    logger: logger.child({ component: 'orphan-sweeper' }),
    now: services.now,
    ...(deps.uploadSessionTtlMs === undefined
      ? {}
      : { uploadSessionTtlMs: deps.uploadSessionTtlMs }),
  });
  const app = createApp(services);

  const stopPeriodic = async () => {
    await reaper.stop();
    await sweeper.stop();
    await services.regen.stop();
  };
  const stopRelay = async (timeoutMs?: number) => {
    if (timeoutMs === undefined) return built.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stopped = await Promise.race([
      built.stop().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!stopped) logger.warn('outbox relay still dispatching at exit; rows stay in the outbox');
  };
  const close = async () => {
    await deps.dispatcher.close?.();
    await deps.queueAdmin?.close?.();
    await deps.taskCancellation?.close?.();
  };

  return {
    app,
    services,
    relay: built,
    reaper,
    sweeper,
    fetch: (request, env) => app.fetch(request, env as object | undefined),
    start() {
      built.start();
      reaper.start();
      sweeper.start();
      services.regen.startWorker();
    },
    stopPeriodic,
    stopRelay,
    close,
    async stop() {
      await stopPeriodic();
      await stopRelay();
      await close();
    },
  };
}
