/**
 * Test helpers: a real backend built by the one builder (`createBackend`: real
 * SQLite file, real fs store, dry-run dispatcher, shared-secret callbacks;
 * workers built, not started) driven through `app.request()`, and
 * tiny valid PNG/GIF files built in memory (the backend only reads headers,
 * so no image library is needed to make fixtures).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { createSharedSecretVerifier } from '@slideshow/callback-auth/shared-secret';
import { UploadAnswer } from '@slideshow/contracts';
import type { TaskDispatcher } from '@slideshow/dispatch';
import { createDryRunDispatcher, type DryRunDispatcher } from '@slideshow/dispatch/dry-run';
import { createLogger, type Logger, type Severity, silentLogger } from '@slideshow/runtime';
import { createFsObjectStore } from '@slideshow/storage/fs';
import * as z from 'zod';
import { hashPassword } from '../src/auth/password.ts';
import { type BackendDeps, createBackend } from '../src/backend.ts';
import { openDatabase } from '../src/db/open-database.ts';
import { sha256Hex } from '../src/ids.ts';
import { UPLOAD_SESSION_PATH } from '../src/routes/upload-sessions.ts';

/** The admin password every test app uses. */
export const PASSWORD = 'correct horse battery staple';
/** The bearer admin token every test app accepts. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** The callback shared secret. */
export const SECRET = 'test-callback-secret-0123456789abcdef';

let passwordHash: Promise<string> | undefined;

/** Builds a test backend over a fresh temp dir (its clock starts at 2026-01-01, moved by `clock.now`). */
export async function makeApp(
  overrides: Partial<BackendDeps> & { dispatcher?: TaskDispatcher } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'backend-app-'));
  const db = openDatabase(join(dir, 'slideshow.db'));
  const store = createFsObjectStore({
    root: join(dir, 'storage'),
    uploadSessionPath: UPLOAD_SESSION_PATH,
  });
  const dispatcher = (overrides.dispatcher ?? createDryRunDispatcher()) as DryRunDispatcher;
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  passwordHash ??= hashPassword(PASSWORD);
  const deps: BackendDeps = {
    db,
    store,
    dispatcher,
    callbackVerifier: createSharedSecretVerifier(SECRET),
    logger: silentLogger,
    mode: 'local',
    adminPasswordHash: await passwordHash,
    adminTokenHashes: [sha256Hex(ADMIN_TOKEN)],
    publicMediaBaseUrl: '/media/',
    maxUploadBytes: 5 * 1024 * 1024,
    now: () => clock.now,
    // The in-memory waits' clock moves with the wall clock here, unless a test steps one alone.
    monotonicNow: () => clock.now,
    ...(store.uploads ? { uploadReceiver: store.uploads } : {}),
    ...overrides,
  };
  const backend = createBackend(deps);
  const { repos, lifecycle } = backend.services;
  return {
    app: backend.app,
    backend,
    db,
    // The store the app uses (an override, e.g. a GCS store, or the folder store).
    store: deps.store,
    dispatcher,
    repos,
    lifecycle,
    relay: backend.relay,
    clock,
    dir,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The test app bundle. */
export type TestApp = Awaited<ReturnType<typeof makeApp>>;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid RGB PNG whose pixels depend on `seed` (so hashes differ). */
export function makePng(width: number, height: number, seed = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.alloc(1 + width * 3);
  const raw = Buffer.alloc(row.length * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) raw[y * row.length + 1 + x] = (x * 7 + y * 13 + seed) & 255;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG that declares `width`×`height` in its header but carries almost no pixel data. */
export function pngHeaderDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A multipart body with one `file` part per entry. */
export function multipart(files: { name: string; bytes: Buffer; field?: string }[]): FormData {
  const form = new FormData();
  for (const f of files)
    form.append(f.field ?? 'file', new Blob([new Uint8Array(f.bytes)]), f.name);
  return form;
}

/** Headers for a bearer-token admin request. */
export const admin = (extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${ADMIN_TOKEN}`,
  ...extra,
});

/** Headers for a callback. */
export const callback = (extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${SECRET}`,
  'Content-Type': 'application/json',
  ...extra,
});

/** Reads a response as JSON, failing with the whole response when the status differs. */
export async function expectJson<T = Record<string, unknown>>(
  response: Response,
  status: number,
): Promise<T> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(
      `expected HTTP ${status} but got ${response.status}\nheaders: ${JSON.stringify(Object.fromEntries(response.headers))}\nbody: ${text}`,
    );
  }
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Reads a response as JSON like {@link expectJson} and checks it against its
 * contract (a schema of @slideshow/contracts): a renamed, missing or retyped
 * field fails with the schema's issues and the whole body. Returns the body as
 * the server sent it (not the parsed copy, which would drop unknown fields).
 */
export async function expectAnswer<S extends z.ZodType>(
  schema: S,
  response: Response,
  status: number,
): Promise<z.infer<S>> {
  const body = await expectJson<unknown>(response, status);
  const checked = schema.safeParse(body);
  if (!checked.success) {
    throw new Error(
      `the answer breaks its contract:\n${z.prettifyError(checked.error)}\nbody: ${JSON.stringify(body)}`,
    );
  }
  return body as z.infer<S>;
}

/** A valid ImageResult for `complete` callbacks. */
export function sampleResult(overrides: Record<string, unknown> = {}) {
  const variant = (format: string, width: number) => ({
    suffix: `w${width}.${format === 'jpeg' ? 'jpg' : format}`,
    format,
    width,
    height: Math.round(width * 0.75),
    bytes: 1000 + width,
  });
  return {
    preset: 'web-v1',
    width: 640,
    height: 480,
    format: 'png',
    hasAlpha: false,
    frames: 1,
    placeholder: 'AAAAAA',
    dominantColor: '#336699',
    variants: [
      variant('avif', 320),
      variant('avif', 640),
      variant('webp', 320),
      variant('webp', 640),
      variant('jpeg', 320),
      variant('jpeg', 640),
    ],
    timings: { decode: 1, encode: 2 },
    ...overrides,
  };
}

/** A logger whose JSON lines a test reads back from `lines`, parsed. */
export function memoryLogger(level: Severity = 'INFO'): {
  logger: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    stream: {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      },
    },
  });
  return { logger, lines };
}

/** The admin upload of `files` in one multipart request, answered 202 and checked against its contract. */
export async function uploadFiles(
  t: Pick<TestApp, 'app'>,
  files: { name: string; bytes: Buffer }[],
): Promise<UploadAnswer> {
  return expectAnswer(
    UploadAnswer,
    await t.app.request('/api/admin/upload', {
      method: 'POST',
      headers: admin(),
      body: multipart(files),
    }),
    202,
  );
}

/** Uploads one 8 × 8 PNG (pixels from `seed`) through the admin API and returns its image id. */
export async function uploadPng(t: Pick<TestApp, 'app'>, seed = 1): Promise<string> {
  const body = await uploadFiles(t, [{ name: 'a.png', bytes: makePng(8, 8, seed) }]);
  const image = body.images[0];
  if (!image || !('id' in image)) throw new Error('the upload answered 202 without an image');
  return image.id;
}
