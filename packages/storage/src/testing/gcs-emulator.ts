/**
 * A GCS JSON API server on loopback for tests: the Cloud Storage emulator from
 * firebase-tools, started in this process without its Java rules runtime.
 *
 * Why it works offline: `StorageEmulator.start()` would first start the rules
 * runtime (a JAR that the CLI downloads from the internet) and only then build
 * the Express app. The rules runtime only evaluates Firebase security rules for
 * the Firebase SDK endpoints (`/v0/...`); the GCS JSON API endpoints use the
 * emulator's `adminStorageLayer`, whose validator allows everything. So we
 * construct the emulator, never call `start()`, and serve the app from
 * `lib/emulator/storage/server.js` ourselves on 127.0.0.1 with an OS-chosen port.
 *
 * These are firebase-tools internals: the version is pinned in package.json and
 * gcs-emulator.test.ts exercises them directly, so an upgrade that moves them
 * fails loudly there first.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { coerceError } from '@slideshow/runtime';
import { withListStartOffset } from './gcs-list-offsets.ts';
import { withGenerationPreconditions } from './gcs-preconditions.ts';
import { withResumableSessions } from './gcs-resumable-sessions.ts';

/** One request the emulator received (for tests that check which upload protocol was used). */
export interface EmulatorRequest {
  method: string;
  /** Path and query, e.g. `/upload/storage/v1/b/bucket/o?uploadType=resumable&name=...`. */
  url: string;
  /** The Authorization header, if any. */
  authorization?: string;
}

/** A running emulator. */
export interface GcsEmulator {
  /** Base URL to pass as `apiEndpoint` (no trailing slash), e.g. `http://127.0.0.1:40123`. */
  endpoint: string;
  projectId: string;
  /** Every request received so far, oldest first. */
  readonly requests: readonly EmulatorRequest[];
  /** Drops every bucket and object (the server keeps running). */
  reset(): void;
  /** Stops the server, closes open connections and removes the emulator's blob folder. */
  stop(): Promise<void>;
}

/** Options for {@link startGcsEmulator}. */
export interface GcsEmulatorOptions {
  projectId?: string;
}

/** How long Google's front ends keep an idle HTTP/1.1 client connection (their documented default). */
const GOOGLE_FRONT_END_KEEP_ALIVE_MS = 610_000;

/** firebase-tools' name for the Storage emulator (`Emulators.STORAGE`). */
const STORAGE = 'storage';

interface StorageEmulatorArgs {
  projectId: string;
  host: string;
  port: number;
  auto_download: boolean;
}

interface StorageEmulatorInstance {
  getPersistenceTmpDir(): string;
  reset(): void;
  stop(): Promise<void>;
}

type StorageEmulatorClass = new (args: StorageEmulatorArgs) => StorageEmulatorInstance;

interface RegisteredEmulator {
  getName(): string;
  getInfo(): { name: string; host: string; port: number };
}

interface EmulatorRegistryClass {
  set(name: string, instance: RegisteredEmulator): void;
  clear(name: string): void;
}

interface FirebaseStorageModules {
  StorageEmulator: StorageEmulatorClass;
  createApp: (projectId: string, emulator: StorageEmulatorInstance) => Promise<RequestListener>;
  EmulatorRegistry: EmulatorRegistryClass;
}

/**
 * Ports of the emulators running in this process, newest last. The emulator
 * writes `selfLink`/`mediaLink` URLs from firebase-tools' process-wide
 * registry (which assumes one emulator per process); the official client never
 * follows those links, so pointing them at any live instance is enough.
 */
const livePorts: number[] = [];

function loadFirebaseStorageEmulator(): FirebaseStorageModules {
  // Resolved from this file, so packages that import this helper use storage's pinned firebase-tools.
  const require = createRequire(import.meta.url);
  const { StorageEmulator } = require('firebase-tools/lib/emulator/storage/index.js') as {
    StorageEmulator: StorageEmulatorClass;
  };
  const { createApp } = require('firebase-tools/lib/emulator/storage/server.js') as {
    createApp: FirebaseStorageModules['createApp'];
  };
  const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry.js') as {
    EmulatorRegistry: EmulatorRegistryClass;
  };
  if (
    typeof StorageEmulator !== 'function' ||
    typeof createApp !== 'function' ||
    typeof EmulatorRegistry?.set !== 'function'
  ) {
    throw new Error(
      'firebase-tools no longer exposes StorageEmulator, createApp and EmulatorRegistry where this helper expects them; check the pinned version',
    );
  }
  return { StorageEmulator, createApp, EmulatorRegistry };
}

/** Starts the GCS emulator on 127.0.0.1 (OS-chosen port); call `stop()` when done. */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const projectId = options.projectId ?? 'demo-slideshow';
  const { StorageEmulator, createApp, EmulatorRegistry } = loadFirebaseStorageEmulator();
  // Each instance gets its own blob folder: the default one is shared by every emulator on the
  // machine, and stop() deletes it, which would pull the floor from under a parallel test file.
  const blobDir = path.join(tmpdir(), `gcs-emulator-${process.pid}-${randomUUID()}`);

  class IsolatedStorageEmulator extends StorageEmulator {
    override getPersistenceTmpDir(): string {
      return blobDir;
    }
  }

  const emulator = new IsolatedStorageEmulator({
    projectId,
    host: '127.0.0.1',
    port: 0,
    auto_download: false,
  });
  const app = await createApp(projectId, emulator);
  const requests: EmulatorRequest[] = [];
  let base = '';
  // The emulator ignores ifGenerationMatch; gcs-preconditions.ts enforces it as GCS does.
  const preconditioned = withGenerationPreconditions(app, async (bucket, name) => {
    const response = await fetch(
      `${base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`,
    );
    if (response.status === 404) {
      await response.body?.cancel();
      return '0';
    }
    const metadata = (await response.json()) as { generation?: string | number };
    if (!response.ok || metadata.generation === undefined) {
      throw new Error(`reading the generation of ${bucket}/${name} answered ${response.status}`);
    }
    return String(metadata.generation);
  });
  // It also finalises a resumable session on its first PUT; gcs-resumable-sessions.ts takes
  // chunks, status queries, cancels and the session's CORS as GCS does.
  const sessions = withResumableSessions(preconditioned, () => base);
  // And it ignores a listing's startOffset; gcs-list-offsets.ts answers those listings itself.
  const guarded = withListStartOffset(sessions, () => base);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: EmulatorRequest = { method: req.method ?? 'GET', url: req.url ?? '/' };
    if (req.headers.authorization !== undefined) entry.authorization = req.headers.authorization;
    requests.push(entry);
    guarded(req, res);
  });
  // Google's front ends keep an idle client connection for 610 s; Node's server closes it after
  // 5 s (+1 s). The client libraries' agents pool sockets with no idle limit, so a request that
  // reused one in the event-loop turn of that close got EPIPE/ECONNRESET (once in a fresh-check,
  // a lease test's setup write; once in 21 writes 6 s apart) — a reset real GCS does not give.
  server.keepAliveTimeout = GOOGLE_FRONT_END_KEEP_ALIVE_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  livePorts.push(port);
  EmulatorRegistry.set(STORAGE, {
    getName: () => STORAGE,
    getInfo: () => ({ name: STORAGE, host: '127.0.0.1', port: livePorts.at(-1) ?? port }),
  });
  let stopped: Promise<void> | undefined;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    projectId,
    requests,
    reset: () => emulator.reset(),
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        livePorts.splice(livePorts.indexOf(port), 1);
        if (livePorts.length === 0) EmulatorRegistry.clear(STORAGE);
        try {
          await emulator.stop();
        } catch (error) {
          throw coerceError(error);
        } finally {
          await rm(blobDir, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
  };
}
