/**
 * Helpers for the processor's component tests: generated images, a processor
 * environment pointing at a test backend, the bundled processor spawned as a
 * child process (bounded by a kill timer), and reads of the backend's SQLite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeic } from '@slideshow/tools/heic-writer';
import sharp from 'sharp';

/** The processor package folder. */
export const processorDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The bundle `pnpm build` writes. */
export const bundlePath = resolve(processorDir, 'dist/processor.mjs');
/** The test-only entry that honours PROCESSOR_FAULT and STORAGE_FAULTS (runs from source). */
export const faultEntryPath = resolve(processorDir, 'src/main-with-faults.ts');

/** A small noisy JPEG (noise keeps encoders honest), `width`×`height`. */
export async function makeJpeg(width = 480, height = 320, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < pixels.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pixels[i] = (i % 3 === 0 ? (i / 3) % width : x >>> 24) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/**
 * A real HEIC (HEVC-coded, see tools/heic-writer.ts) of smooth gradients, so
 * its decoded pixels can be compared with the source: `width`×`height` (even).
 */
export function makeHeic(width = 320, height = 240, seed = 1): Buffer {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / width);
      data[i + 1] = Math.round((255 * y) / height);
      data[i + 2] = (seed * 37) % 256;
    }
  }
  return writeHeic({ data, width, height, channels: 3 });
}

/** A JPEG cut in half: the header is valid, the scan data ends early. */
export async function makeTruncatedJpeg(seed = 7): Promise<Buffer> {
  const whole = await makeJpeg(480, 320, seed);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/** Minimal view of the backend test harness used here. */
export interface BackendLike {
  url: string;
  storeRoot: string;
  callbackSecret: string;
}

/** The environment a local Cloud Run task would get, for image `imageId`. */
export function processorEnv(
  backend: BackendLike,
  imageId: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    TARGET_FILE_ID: imageId,
    BACKEND_API_URL: backend.url,
    STORAGE_URL: `file://${backend.storeRoot}`,
    CALLBACK_AUTH: 'shared-secret',
    CALLBACK_SECRET: backend.callbackSecret,
    MAX_RETRIES: '3',
    CALLBACK_DEADLINE_MS: '2000',
    CLOUD_RUN_JOB: 'processor',
    CLOUD_RUN_EXECUTION: 'processor-test-exec',
    CLOUD_RUN_TASK_INDEX: '0',
    CLOUD_RUN_TASK_ATTEMPT: '0',
    CLOUD_RUN_TASK_COUNT: '1',
    ...overrides,
  };
}

/** One JSON log line of the processor. */
export interface LogLine {
  severity: string;
  message: string;
  [field: string]: unknown;
}

/** How a spawned processor ended. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  logs: LogLine[];
  stderr: string;
}

/** A spawned processor. */
export interface RunningChild {
  child: ChildProcess;
  /** Resolves when a log line matching `predicate` appears (bounded by the kill timer). */
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  done: Promise<ChildResult>;
}

/**
 * Spawns `node <script>` with exactly `env` (plus PATH), killing it with
 * SIGKILL after `killAfterMs` so no test can leave it behind.
 */
export function spawnProcessor(
  env: Record<string, string>,
  options: {
    script?: string;
    cwd?: string;
    killAfterMs?: number;
    stdin?: 'pipe';
    /** `ulimit -f` for the child: every file it writes is limited to this many 512-byte (or 1 KiB) blocks. */
    fileSizeLimitBlocks?: number;
  } = {},
): RunningChild {
  const script = options.script ?? bundlePath;
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`pnpm build\` first`);
  const [command, args] =
    options.fileSizeLimitBlocks === undefined
      ? [process.execPath, [script]]
      : [
          '/bin/sh',
          [
            '-c',
            `ulimit -f ${options.fileSizeLimitBlocks} && exec "$0" "$1"`,
            process.execPath,
            script,
          ],
        ];
  const child = spawn(command, args, {
    cwd: options.cwd ?? processorDir,
    env: { METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: [options.stdin ?? 'ignore', 'ignore', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: { predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const text of lines) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as LogLine;
      logs.push(line);
      for (const w of waiters.filter((w) => w.predicate(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 45_000);
  const done = new Promise<ChildResult>((resolveDone, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveDone({ code, signal, logs, stderr });
    });
  });
  return {
    child,
    done,
    waitForLog(predicate) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolveLine, reject) => {
        waiters.push({ predicate, resolve: resolveLine });
        done.then(
          () => reject(new Error(`processor exited before the log line appeared:\n${stderr}`)),
          reject,
        );
      });
    },
  };
}

/**
 * Replaces the object file at `<root>/<key>` by a Unix socket: open(2) then
 * fails with ENXIO, which the filesystem store reports as STORAGE_UNAVAILABLE
 * (retryable) — a real storage failure that even root cannot bypass, unlike
 * file permissions. Returns a function that puts the original back.
 */
export async function breakObject(root: string, key: string): Promise<() => Promise<void>> {
  const { rename, rm } = await import('node:fs/promises');
  const { createServer } = await import('node:net');
  const file = resolve(root, key);
  const aside = `${file}.aside`;
  await rename(file, aside);
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(file, ok);
  });
  return async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
    await rm(file, { force: true });
    await rename(aside, file);
  };
}

/** The `failed_tasks` row of an image (the operators' table), if any. */
export interface FailedTaskRow {
  error_code: string;
  source: string;
  attempt_count: number;
  execution: string | null;
}

/** Reads the `failed_tasks` row of `imageId` from the test backend's SQLite file. */
export function failedTaskRow(
  backend: { db: { prepare(sql: string): { get(...params: unknown[]): unknown } } },
  imageId: string,
): FailedTaskRow | undefined {
  return backend.db.prepare('SELECT * FROM failed_tasks WHERE image_id = ?').get(imageId) as
    | FailedTaskRow
    | undefined;
}
