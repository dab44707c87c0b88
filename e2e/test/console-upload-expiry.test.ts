/**
 * Resumable uploads from the admin console whose session is lost, in Chromium
 * against the local stack: a session that expires between two chunks (the
 * backend sweeps it; its next chunk answers 404) is replaced once, the row
 * saying "Session expired; starting again…", and the file is accepted through
 * the new session — before, the 404 ended the row "Refused"; a second loss
 * ends the row refused, saying why. A `complete` whose answer is cut after the
 * backend made the image is sent again and answered with that image — before,
 * the row stopped "interrupted" and a resume found the file "already uploaded".
 *
 * A session expires by its `expires_at` passing (`UPLOAD_SESSION_TTL_MS`,
 * 60 s at least, after the last look that found bytes); the test moves that
 * instant into the past in the database instead of waiting for it, and the
 * orphan sweeper (every second here) cancels the session as it does at expiry.
 * The chunks are held by a Playwright route while that happens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Locator, Page, Route } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  countRows,
  cutFirstAnswer,
  NO_CHROMIUM,
  openConsole,
  type TestBrowser,
} from './console-support.ts';
import { freshStack, openDb } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** The stages of a row whose file the server took. */
const ACCEPTED = ['uploaded', 'queued', 'processing', 'processed'];
/** The stages a row stops in: taken, or not. */
const ENDED = [...ACCEPTED, 'refused', 'interrupted', 'failed'];

/**
 * A real image of `side`² pixels over 1 MiB (so it goes through a session, in 256 KiB chunks)
 * that is cheap to process: a gradient PNG stored without compression. `blue` makes files differ.
 */
async function uncompressedPng(side: number, blue: number): Promise<Buffer> {
  const pixels = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 3;
      pixels[i] = (x * 255) / side;
      pixels[i + 1] = (y * 255) / side;
      pixels[i + 2] = blue;
    }
  }
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** Waits (bounded) until the upload row is in one of `stages`. */
async function settled(row: Locator, stages: string[]): Promise<void> {
  const selector = stages.map((stage) => `[data-stage="${stage}"]`).join(', ');
  await row.and(row.page().locator(selector)).waitFor({ timeout: 120_000 });
}

/**
 * Holds chosen `PUT`s to the local session route (the chunks): `next()` holds the next one to
 * arrive and resolves with it, still unanswered; the others pass.
 */
async function holdChunks(page: Page) {
  const waiting: ((route: Route) => void)[] = [];
  await page.route(
    (url) => url.pathname.startsWith('/api/upload-sessions/'),
    async (route) => {
      const take = waiting.shift();
      if (take) take(route);
      else await route.continue();
    },
  );
  return {
    next: () => new Promise<Route>((resolve) => waiting.push(resolve)),
    /** Holds none of the coming chunks (a test that failed may have left a wish unmet). */
    clear: () => {
      waiting.length = 0;
    },
  };
}

describe.skipIf(NO_CHROMIUM)(
  'upload sessions lost mid-file, and a cut complete, in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let files: string;
    let errors: string[];
    let chunks: Awaited<ReturnType<typeof holdChunks>>;
    const row = (name: string) => page.locator('#uploads li', { hasText: name });

    /** The open session's id (the test has one open at a time). */
    const openSessionId = () => {
      const db = openDb(stack);
      try {
        return db.prepare<[], { id: string }>('SELECT id FROM upload_sessions').get()?.id;
      } finally {
        db.close();
      }
    };

    /**
     * Expires every open session, as its TTL passing does, and waits until the sweeper has
     * cancelled it and deleted what it stored.
     */
    const expireSessions = async () => {
      const db = new Database(join(stack.dataDir, 'slideshow.db'), { fileMustExist: true });
      try {
        db.prepare('UPDATE upload_sessions SET expires_at = 0').run();
      } finally {
        db.close();
      }
      await expect
        .poll(() => countRows(stack, 'upload_sessions'), { timeout: 30_000, interval: 200 })
        .toBe(0);
    };

    /** Chooses `bytes` as `name`, holding its second chunk; resolves with that chunk. */
    const chooseHoldingSecondChunk = async (name: string, bytes: Buffer) => {
      const path = join(files, name);
      writeFileSync(path, bytes);
      const first = chunks.next();
      await page.setInputFiles('#file-input', path);
      // The first chunk is let through; the second is held.
      const second = chunks.next();
      await (await first).continue();
      return await second;
    };

    /**
     * Lets `held` (a chunk of an expired session) through and resolves with the first chunk of
     * the session the page opens next, held; fails with the row's text when the page ends the
     * row instead.
     */
    const releaseIntoNewSession = async (held: Route, name: string) => {
      const restarted = chunks.next();
      await held.continue();
      const next = await Promise.race([restarted, settled(row(name), ENDED).then(() => undefined)]);
      expect(next, `the row ended instead: ${await row(name).textContent()}`).toBeDefined();
      return next as Route;
    };

    beforeAll(async () => {
      stack = await freshStack({ backendEnv: { ORPHAN_SWEEP_INTERVAL_MS: '1000' } });
      ({ browser, page, errors } = await openConsole(stack));
      page.setDefaultTimeout(120_000);
      chunks = await holdChunks(page);
      files = mkdtempSync(join(tmpdir(), 'console-upload-expiry-'));
    }, 180_000);
    afterEach(() => {
      chunks.clear();
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('sends the file again through a new session when its session expired between chunks, saying so in the row (before: refused at the 404)', async () => {
      const name = 'expired-once.png';
      const bytes = await uncompressedPng(720, 30);
      expect(bytes.length).toBeGreaterThan(1024 * 1024);
      const held = await chooseHoldingSecondChunk(name, bytes);
      const lost = openSessionId();
      expect(lost).toBeDefined();
      await expireSessions();
      const restarted = await releaseIntoNewSession(held, name);
      expect(await row(name).locator('.stage').textContent()).toBe(
        'Session expired; starting again…',
      );
      await restarted.continue();
      await settled(row(name), ENDED);
      expect(ACCEPTED, (await row(name).textContent()) ?? '').toContain(
        await row(name).getAttribute('data-stage'),
      );
      const db = openDb(stack);
      try {
        const image = db
          .prepare<[string], { id: string; bytes: number }>(
            'SELECT id, bytes FROM images WHERE original_name = ?',
          )
          .get(name);
        // The second session's: the lost one's id never became an image.
        expect(image?.bytes).toBe(bytes.length);
        expect(image?.id).not.toBe(lost);
      } finally {
        db.close();
      }
      expect(countRows(stack, 'upload_sessions')).toBe(0);
      expect(countRows(stack, 'pending_originals')).toBe(0);
      // The only errors: the lost session's chunk (404).
      expect(errors.filter((e) => !/status of 404\b/.test(e))).toEqual([]);
    }, 300_000);

    it('ends the row refused, saying so, when the new session is lost too', async () => {
      const name = 'expired-twice.png';
      const held = await chooseHoldingSecondChunk(name, await uncompressedPng(720, 60));
      await expireSessions();
      const restarted = await releaseIntoNewSession(held, name);
      await expireSessions();
      await restarted.continue();
      await settled(row(name), ENDED);
      expect(await row(name).getAttribute('data-stage')).toBe('refused');
      expect(await row(name).locator('.stage').textContent()).toBe(
        'Refused: The upload session expired again before the file was sent; choose the file again to upload it.',
      );
      expect(countRows(stack, 'images', `original_name = '${name}'`)).toBe(0);
      expect(countRows(stack, 'upload_sessions')).toBe(0);
      expect(countRows(stack, 'pending_originals')).toBe(0);
    }, 300_000);

    it('takes the image of a complete whose answer was cut, sending complete again (before: interrupted, then "already uploaded")', async () => {
      const name = 'cut-complete.png';
      const path = join(files, name);
      writeFileSync(path, await uncompressedPng(720, 90));
      const before = errors.length;
      const interception = await cutFirstAnswer(
        browser,
        page,
        '*/api/admin/upload-sessions/*/complete',
      );
      try {
        await page.setInputFiles('#file-input', path);
        await settled(row(name), ENDED);
      } finally {
        await interception.release();
      }
      expect(ACCEPTED, (await row(name).textContent()) ?? '').toContain(
        await row(name).getAttribute('data-stage'),
      );
      // Taken as the upload's own image, not found as one already there.
      expect(await row(name).locator('.stage').textContent()).not.toMatch(/^Already uploaded/);
      expect(countRows(stack, 'images', `original_name = '${name}'`)).toBe(1);
      expect(countRows(stack, 'upload_sessions')).toBe(0);
      expect(errors.slice(before).filter((e) => !/ERR_CONNECTION_RESET/.test(e))).toEqual([]);
    }, 300_000);
  },
);
