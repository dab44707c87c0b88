/**
 * What every route module receives: the dependencies `createBackend` was
 * given, assembled once into a typed services object (repositories, state
 * machine, login limiter: services.ts), and the Hono environment type with
 * per-request variables.
 */
import type { CallbackVerifier } from '@slideshow/callback-auth';
import type { TaskCancellation, TaskDispatcher } from '@slideshow/dispatch';
import type { QueueAdmin } from '@slideshow/dispatch/queue-admin';
import type { Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import type { FsUploadSessions } from '@slideshow/storage/fs';
import type { MiddlewareHandler } from 'hono';
import type { LoginDevices } from './auth/login-device.ts';
import type { RateLimiter } from './auth/rate-limit.ts';
import type { LibraryRepository } from './db/library-repository.ts';
import type { Db } from './db/open-database.ts';
import type { QueuedTasks } from './library/queued-tasks.ts';
import type { UploadTracker } from './library/upload-tracker.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { BackendPresets, Regenerator } from './regen/regenerator.ts';
import type { Repositories } from './repositories.ts';
import type { BodyLimitName } from './request-body.ts';

/** The adapters and settings the app runs on; opened by main.ts (or a test), given to `createBackend`. */
export interface AppDeps {
  db: Db;
  store: ObjectStore;
  dispatcher: TaskDispatcher;
  /** The dispatcher's queues, for the jobs page (absent when the dispatcher has none). */
  queueAdmin?: QueueAdmin;
  /**
   * Removes a deleted image's task still waiting in its queue (library/queued-tasks.ts);
   * absent when the dispatcher has no queue, and then nothing is cancelled.
   */
  taskCancellation?: TaskCancellation;
  callbackVerifier: CallbackVerifier;
  logger: Logger;
  /** `local` serves /media and uses non-Secure cookies; `production` trusts X-Forwarded-For (see trustedProxyHops). */
  mode: 'local' | 'production';
  /**
   * How many proxies in front of the backend append to `X-Forwarded-For`
   * (auth/client-address.ts): default 1 in production (Cloud Run's front end),
   * 0 locally (the socket address).
   */
  trustedProxyHops?: number;
  /** scrypt hash of the admin password (see auth/password.ts). */
  adminPasswordHash: string;
  /** sha256 hex of each accepted bearer admin token. */
  adminTokenHashes: readonly string[];
  /** The backend's public base URL; also accepted as a same-origin `Origin`. */
  publicUrl?: string;
  /** Prefix of variant URLs in /api/slideshow (`/media/` locally, a bucket URL in production). */
  publicMediaBaseUrl: string;
  maxUploadBytes: number;
  /** Longest silence from a client while any request body (an upload or JSON) is read (default 30 s); then 408. */
  uploadIdleTimeoutMs?: number;
  /** Extra origins the web pages may load images from (the media origin in production). */
  imageOrigins?: string[];
  /** Origins the admin page sends upload chunks to (Cloud Storage's, when the store is a bucket). */
  uploadOrigins?: string[];
  /**
   * The server side of the store's upload sessions when their URL is this
   * app's own route (a filesystem store: `PUT /api/upload-sessions/:token`);
   * absent when the browser sends the bytes to Cloud Storage.
   */
  uploadReceiver?: Pick<FsUploadSessions, 'receive'>;
  /**
   * The validated preset file and the preset new images get and regenerations
   * make (config.ts: PRESETS_FILE, IMAGE_PRESET); default the repository's file
   * and its default preset.
   */
  presets?: BackendPresets;
  /** How long an upload session may take before the sweeper cancels it (default 24 h). */
  uploadSessionTtlMs?: number;
  now?: () => number;
  /**
   * Milliseconds on a clock that never steps (default `performance.now`): what the in-memory
   * waits measure — the login limiter's backoff, the pause after a failed task cancellation, how
   * long a finished upload is remembered — so a wall-clock step (NTP, a VM resumed) neither
   * lengthens nor ends them. Tests move it with `now`.
   */
  monotonicNow?: () => number;
  sessionTtlMs?: number;
  /**
   * The single-writer admission (writer/gate.ts): every non-safe request runs
   * inside `admit`, which refuses it with 503 LEASE_NOT_HELD when this instance
   * does not hold the database lease. Absent in tests that build the app alone.
   */
  writeFence?: { admit<T>(run: () => Promise<T>): Promise<T> };
}

/** The services object routes use. */
export interface Services {
  deps: AppDeps;
  repos: Repositories;
  lifecycle: Lifecycle;
  loginLimiter: RateLimiter;
  /** The media library's queries and edits (search, description, slideshow order, timeline). */
  library: LibraryRepository;
  /** Uploads named by `X-Upload-Id`, so a cancel can undo them. */
  uploads: UploadTracker;
  /** Deletes images (objects, then rows); ids already gone are skipped. */
  removeImages: (ids: string[]) => Promise<void>;
  /** The queued tasks a deleted image leaves, and their best-effort removal. */
  queuedTasks: QueuedTasks;
  /**
   * Fingerprint of the admin password hash (a sha256 of it) that sessions are bound to: a
   * session opened with another password is no session (auth/admin-auth.ts).
   */
  sessionFingerprint: string;
  /** Login-device cookies, which give the admin's browser its own login budget. */
  loginDevices: LoginDevices;
  /** `deps.trustedProxyHops` with its default applied. */
  trustedProxyHops: number;
  /** Middleware that reads the body within `BODY_LIMITS[name]` (request-body.ts); every route with a body uses it. */
  limitBody: (name: BodyLimitName) => MiddlewareHandler<AppEnv>;
  now: () => number;
  /** `deps.presets` with its default applied. */
  presets: BackendPresets;
  /** Regeneration runs (regen/regenerator.ts): started by the admin API, worked by createBackend's worker. */
  regen: Regenerator;
}

/** How a request was authenticated as admin. */
export type AdminAuth = { kind: 'session'; idHash: string } | { kind: 'token' };

/** Hono environment: per-request variables. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    admin: AdminAuth;
    /** The body read by `limitBody`, parsed with `jsonBody` / `formBody`. */
    body: Buffer | undefined;
  };
}
