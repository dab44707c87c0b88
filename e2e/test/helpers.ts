/**
 * Helpers for the end-to-end tests: a fresh local stack per file, sample
 * uploads through the admin API, bounded waits on the SQLite system of record.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from '@slideshow/tools/local-stack';
import Database from 'better-sqlite3';
import sharp from 'sharp';

/** A stack in a temp folder, removed by `dispose`. */
export async function freshStack(
  options: Partial<LocalStackOptions> = {},
): Promise<LocalStack & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-stack-'));
  const stack = await startLocalStack({ dataDir, ...options });
  return Object.assign(stack, {
    async dispose() {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Uploads files in one multipart request; returns the image ids in order. */
export async function upload(
  stack: LocalStack,
  files: { name: string; bytes: Buffer }[],
): Promise<string[]> {
  const form = new FormData();
  for (const file of files) form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
  const response = await stack.admin('/api/admin/upload', { method: 'POST', body: form });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`upload answered ${response.status}: ${text}`);
  const body = JSON.parse(text) as { images: { id: string }[] };
  return body.images.map((image) => image.id);
}

/** `POST`s `body` (JSON) to an admin path, or `GET`s it without one; throws with the answer unless 2xx. */
export async function adminJson<T>(stack: LocalStack, path: string, body?: unknown): Promise<T> {
  const response = await stack.admin(path, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Row of the images table, read straight from the backend's SQLite file. */
export interface ImageRow {
  id: string;
  status: string;
  generation: number;
  variants: string | null;
}

/** Row of failed_tasks. */
export interface FailedTaskRow {
  image_id: string;
  error_code: string;
  error_message: string;
  attempt_count: number;
  source: string;
  resolved_at: string | null;
}

/** Opens the backend's database read-only (WAL lets us read while it writes). */
export function openDb(stack: LocalStack): Database.Database {
  return new Database(join(stack.dataDir, 'slideshow.db'), { readonly: true, fileMustExist: true });
}

/** Waits until every image is `processed` or `failed` (bounded), returning the rows. */
export async function waitForTerminal(
  stack: LocalStack,
  ids: string[],
  timeoutMs = 120_000,
): Promise<ImageRow[]> {
  const db = openDb(stack);
  try {
    const deadline = Date.now() + timeoutMs;
    const select = db.prepare<string[], ImageRow>(
      `SELECT id, status, generation, variants FROM images WHERE id IN (${ids.map(() => '?').join(',')})`,
    );
    for (;;) {
      const rows = select.all(...ids);
      if (
        rows.length === ids.length &&
        rows.every((r) => r.status === 'processed' || r.status === 'failed')
      ) {
        return ids.map((id) => rows.find((r) => r.id === id) as ImageRow);
      }
      if (Date.now() > deadline) {
        const settled = new Set(
          rows.filter((r) => r.status === 'processed' || r.status === 'failed').map((r) => r.id),
        );
        // Those without a row too: their trail says where they got lost.
        const unfinished = ids.filter((id) => !settled.has(id));
        throw new Error(
          `images did not finish within ${timeoutMs} ms: ${JSON.stringify(rows.map((r) => [r.id, r.status]))}\n${logTrail(stack, unfinished)}`,
        );
      }
      await sleep(250);
    }
  } finally {
    db.close();
  }
}

/** Fields of a log line worth a failure message (a processor's line nests its own in `jsonPayload`). */
const TRAIL_FIELDS = [
  'execution',
  'task',
  'attempt',
  'imageId',
  'generation',
  'outcome',
  'exitCode',
  'status',
  'code',
  'reason',
  'error',
] as const;

/** One JSON log line as `file time SEVERITY message key=value…`, at most 400 characters. */
function condensed(file: string, line: string): { time: string; text: string } {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // Not JSON (a crash trace): shown as it is.
    return { time: '', text: `${file}: ${line.slice(0, 400)}` };
  }
  const inner = (entry.jsonPayload ?? {}) as Record<string, unknown>;
  const fields = TRAIL_FIELDS.flatMap((key) => {
    const value = inner[key] ?? entry[key];
    if (value === undefined || value === null) return [];
    return [`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`];
  });
  const time = String(entry.time ?? '');
  const text = `${file} ${time.slice(11)} ${String(entry.severity)} ${String(entry.message)} ${fields.join(' ')}`;
  return { time, text: text.slice(0, 400) };
}

/** The last `max` lines of the stack's logs that `keep` accepts, oldest first, condensed, under `title`. */
function logExcerpt(
  stack: LocalStack,
  title: string,
  keep: (line: string) => boolean,
  max: number,
): string {
  const dir = join(stack.dataDir, 'logs');
  const lines: { time: string; text: string }[] = [];
  try {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        if (line !== '' && keep(line)) lines.push(condensed(file, line));
      }
    }
  } catch (error) {
    // Diagnostics only: the failure they accompany must not turn into this one.
    return `${title}: the logs could not be read (${(error as Error).message})`;
  }
  lines.sort((a, b) => a.time.localeCompare(b.time));
  const shown = lines.slice(-max);
  return [`${title} (${shown.length} of ${lines.length} lines):`, ...shown.map((l) => l.text)].join(
    '\n',
  );
}

/**
 * What the stack's logs (backend, and local-cloud with the processor's lines)
 * say of `ids`: the last `max` lines naming one of them. A bounded wait that
 * ran out puts it in its error, so that a failure on a CI machine (whose
 * files are gone) says what those images went through.
 */
export function logTrail(stack: LocalStack, ids: readonly string[], max = 20): string {
  if (ids.length === 0) return 'log trail: no images to follow';
  // The feed's media requests name every image and say nothing of its processing.
  const about = (line: string) =>
    ids.some((id) => line.includes(id)) && !line.includes('"path":"/media/');
  return logExcerpt(stack, `log trail of ${ids.join(', ')}`, about, max);
}

/**
 * The last `max` WARNING and ERROR lines of the stack's logs: what went wrong
 * around a wait that ran out, even when the line names no image (a workflow
 * execution, a queue).
 */
export function problemLines(stack: LocalStack, max = 8): string {
  const problem = (line: string) => /^\{"severity":"(WARNING|ERROR)"/.test(line);
  return logExcerpt(stack, 'last warnings and errors', problem, max);
}

/** The failed_tasks row of an image, if any. */
export function failedTask(stack: LocalStack, imageId: string): FailedTaskRow | undefined {
  const db = openDb(stack);
  try {
    return db
      .prepare<[string], FailedTaskRow>('SELECT * FROM failed_tasks WHERE image_id = ?')
      .get(imageId);
  } finally {
    db.close();
  }
}

/** True when the Google Cloud CLI is on PATH. */
export function hasGcloud(): boolean {
  return spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A preset file (packages/imaging/presets.json's format) holding one cheap
 * preset, `name`: the given widths, WebP + JPEG, no quality search.
 * `webpQuality` is what the regeneration tests change to make a new version.
 */
export function cheapPresetFile(name: string, widths: number[], webpQuality: number): string {
  const preset = {
    widths,
    modern: ['webp'],
    fallback: true,
    colour: 'srgb',
    avif: { quality: 52, effort: 2 },
    webp: { quality: webpQuality, effort: 2 },
    jpeg: { quality: 80, progressive: true, optimiseCoding: true },
    png: { compressionLevel: 6, adaptiveFiltering: false, effort: 4 },
    placeholder: true,
    animated: 'webp',
    animatedWidths: [96],
    animatedWebp: { quality: 80, effort: 2 },
    neverLarger: true,
    qualitySearch: null,
  };
  return JSON.stringify({ default: name, presets: { [name]: preset } });
}

/**
 * A small PNG whose pixels differ by `seed` (so no two seeds are duplicates), about
 * 80 + 4·seed × 60 pixels: cheap to process, distinct to the backend's sha256.
 */
export function smallPng(seed: number): Promise<Buffer> {
  const width = 80 + seed * 4;
  const height = 60;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 5 + seed * 29) & 255;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
