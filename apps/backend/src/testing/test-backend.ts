/**
 * A real backend for other packages' tests (processor, end-to-end): the one
 * builder (`createBackend`, src/backend.ts) served by @hono/node-server on
 * 127.0.0.1:0, a real SQLite file and a filesystem object store in a temp dir,
 * the dry-run dispatcher by default, shared-secret callbacks, and its workers
 * running (the relay polls fast). `stop()` closes the server, the workers and
 * the database, and removes the temp dir it created.
 *
 * ```ts
 * const backend = await startTestBackend();
 * const { id } = await backend.upload(jpegBytes, 'a.jpg');
 * // processor env: BACKEND_API_URL=backend.url, CALLBACK_SECRET=backend.callbackSecret,
 * // storage root backend.storeRoot
 * await backend.stop();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createSharedSecretVerifier } from '@slideshow/callback-auth/shared-secret';
import type { TaskDispatcher } from '@slideshow/dispatch';
import { createDryRunDispatcher } from '@slideshow/dispatch/dry-run';
import { type Logger, silentLogger } from '@slideshow/runtime';
import { createFsObjectStore, type FsObjectStore } from '@slideshow/storage/fs';
import { hashPassword } from '../auth/password.ts';
import { createBackend } from '../backend.ts';
import { type Db, openDatabase } from '../db/open-database.ts';
import { randomToken, sha256Hex } from '../ids.ts';
import type { OutboxRelay } from '../outbox-relay.ts';
import { UPLOAD_SESSION_PATH } from '../routes/upload-sessions.ts';
import { DEFAULT_SERVER_TIMEOUTS, type ServerTimeouts, serverOptions } from '../server-options.ts';

/** Options for {@link startTestBackend}. */
export interface TestBackendOptions {
  /** Folder for the database (and the store, unless `storeRoot`); a new temp dir by default. */
  dataDir?: string;
  /** Default: the dry-run dispatcher. */
  dispatcher?: TaskDispatcher;
  /** Default: a random secret. */
  callbackSecret?: string;
  /** Default: `${dataDir}/storage`. */
  storeRoot?: string;
  /** Default: silent. */
  logger?: Logger;
  /** Default: 200 MB. */
  maxUploadBytes?: number;
  /** Run the workers — the outbox relay, the reaper, the sweeper (default true). */
  relay?: boolean;
  /** Longest client silence during an upload body (default 30 s). */
  uploadIdleTimeoutMs?: number;
  /** Node's request/headers timeouts (default: the production ones, src/server-options.ts). */
  timeouts?: Partial<ServerTimeouts>;
}

/** A running test backend. */
export interface TestBackend {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  url: string;
  dataDir: string;
  dbPath: string;
  storeRoot: string;
  store: FsObjectStore;
  callbackSecret: string;
  /** Bearer admin token: `Authorization: Bearer ${adminToken}`. */
  adminToken: string;
  /** The admin password for /api/admin/login. */
  adminPassword: string;
  dispatcher: TaskDispatcher;
  relay: OutboxRelay | undefined;
  db: Db;
  /** Uploads one file through `POST /api/admin/upload`; throws with the response on failure. */
  upload(bytes: Buffer, name: string): Promise<{ id: string; duplicate: boolean; status: string }>;
  /** `GET /api/images/:id` as admin (the parsed JSON). */
  image(id: string): Promise<Record<string, unknown> & { status: string; generation: number }>;
  /** Fetch with the admin bearer token. */
  adminFetch(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts a backend on a free loopback port. */
export async function startTestBackend(options: TestBackendOptions = {}): Promise<TestBackend> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'backend-test-')));
  const dbPath = join(dataDir, 'slideshow.db');
  const storeRoot = options.storeRoot ?? join(dataDir, 'storage');
  const logger = options.logger ?? silentLogger;
  const callbackSecret = options.callbackSecret ?? randomToken();
  const adminToken = randomToken();
  const adminPassword = randomToken(12);
  const db = openDatabase(dbPath);
  const store = createFsObjectStore({ root: storeRoot, uploadSessionPath: UPLOAD_SESSION_PATH });
  const dispatcher = options.dispatcher ?? createDryRunDispatcher({ logger });
  const backend = createBackend({
    db,
    store,
    dispatcher,
    callbackVerifier: createSharedSecretVerifier(callbackSecret),
    logger,
    mode: 'local',
    adminPasswordHash: await hashPassword(adminPassword),
    adminTokenHashes: [sha256Hex(adminToken)],
    publicMediaBaseUrl: '/media/',
    maxUploadBytes: options.maxUploadBytes ?? 200 * 1024 * 1024,
    ...(options.uploadIdleTimeoutMs ? { uploadIdleTimeoutMs: options.uploadIdleTimeoutMs } : {}),
    ...(store.uploads ? { uploadReceiver: store.uploads } : {}),
    // Tests wait for dispatches: poll and retry fast.
    relay: { pollIntervalMs: 200, initialDelayMs: 200, maxDelayMs: 2_000 },
  });
  const workers = options.relay !== false;
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve(
      {
        fetch: backend.fetch,
        hostname: '127.0.0.1',
        port: 0,
        serverOptions: serverOptions({ ...DEFAULT_SERVER_TIMEOUTS, ...options.timeouts }),
      },
      () => resolve(s),
    );
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  if (workers) backend.start();

  const adminFetch = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${adminToken}`);
    return fetch(`${url}${path}`, { ...init, headers });
  };

  return {
    url,
    dataDir,
    dbPath,
    storeRoot,
    store,
    callbackSecret,
    adminToken,
    adminPassword,
    dispatcher,
    relay: workers ? backend.relay : undefined,
    db,
    adminFetch,
    async upload(bytes, name) {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)]), name);
      const response = await adminFetch('/api/admin/upload', { method: 'POST', body: form });
      const text = await response.text();
      if (response.status !== 202)
        throw new Error(`upload failed: HTTP ${response.status} ${text}`);
      const body = JSON.parse(text) as {
        images: { id?: string; duplicate?: boolean; status?: string; error?: unknown }[];
      };
      const first = body.images[0];
      if (!first?.id) throw new Error(`upload refused: ${text}`);
      return { id: first.id, duplicate: first.duplicate ?? false, status: first.status ?? '' };
    },
    async image(id) {
      const response = await adminFetch(`/api/images/${encodeURIComponent(id)}`);
      const text = await response.text();
      if (!response.ok) throw new Error(`GET /api/images/${id}: HTTP ${response.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown> & { status: string; generation: number };
    },
    async stop() {
      await backend.stopPeriodic();
      await backend.stopRelay();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await backend.close();
      db.close();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
