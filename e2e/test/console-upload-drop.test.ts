/**
 * Phone photos uploaded through a network drop, in Chromium with a phone's
 * touch context against the local stack: the page is loaded through a
 * loopback proxy (cutting-proxy.ts) that resets every connection in the
 * middle of a file's body, as a drop does. A 4 MiB photo goes on from what the
 * server already holds (an upload session, admin-upload-send.js), so the
 * browser sends far less than the file twice over — before, a file up to
 * 8 MiB was posted whole and sent again from byte 0. A smaller file, still
 * posted whole, is not refused when the browser sends its cut request again
 * by itself (Chromium repeats a request whose reused connection was reset;
 * the backend refuses the repeat's upload id, 409): it is sent again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, devices, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  collectPageErrors,
  countRows,
  expectNoSeriousAxeViolations,
  NO_CHROMIUM,
} from './console-support.ts';
import { type CuttingProxy, startCuttingProxy } from './cutting-proxy.ts';
import { freshStack, openDb } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** The stages of a row whose file the server took. */
const ACCEPTED = ['queued', 'processing', 'processed'];

/**
 * A real image of `side`² pixels that is cheap to process: a gradient PNG
 * stored without compression, so its size is its pixels' (3 bytes each).
 * `blue` makes files that differ.
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
  await row.and(row.page().locator(selector)).waitFor({ timeout: 180_000 });
}

describe.skipIf(NO_CHROMIUM)(
  'uploads through a network drop on a phone (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let proxy: CuttingProxy;
    let browser: Browser;
    let page: Page;
    let files: string;
    let errors: string[];

    /**
     * Uploads `bytes` as `name` from the page, resets every connection once 65 % of the file
     * has reached the proxy (in the middle of the file's body, whichever request carries it),
     * and waits until the row has ended; gives the bytes the browser sent meanwhile.
     */
    async function uploadThroughDrop(name: string, bytes: Buffer): Promise<number> {
      const path = join(files, name);
      writeFileSync(path, bytes);
      const row = page.locator('#uploads li', { hasText: name });
      const before = proxy.sent();
      const cut = proxy.cutAfter(Math.round(bytes.length * 0.65));
      await page.setInputFiles('#file-input', path);
      await cut;
      // The page resumes by itself, or leaves the row interrupted for "Resume uploads" (README:
      // "After a network drop the batch resumes when the browser is back online (or with
      // 'Resume uploads')"); the proxy takes connections again at once, so no "online" comes.
      await settled(row, ['interrupted', ...ACCEPTED, 'refused']);
      if ((await row.getAttribute('data-stage')) === 'interrupted') {
        await page.getByRole('button', { name: 'Resume uploads' }).click();
      }
      await settled(row, [...ACCEPTED, 'refused']);
      expect(ACCEPTED, (await row.textContent()) ?? '').toContain(
        await row.getAttribute('data-stage'),
      );
      // Sent, not found already there: the cut left nothing the server took for an image.
      expect(await row.locator('.stage').textContent()).not.toMatch(/^Already uploaded/);
      const db = openDb(stack);
      try {
        const image = db
          .prepare<[string], { bytes: number }>('SELECT bytes FROM images WHERE original_name = ?')
          .get(name);
        expect(image?.bytes).toBe(bytes.length);
      } finally {
        db.close();
      }
      expect(countRows(stack, 'upload_sessions')).toBe(0);
      expect(countRows(stack, 'pending_originals')).toBe(0);
      return proxy.sent() - before;
    }

    beforeAll(async () => {
      stack = await freshStack();
      proxy = await startCuttingProxy(new URL(stack.backendUrl));
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      const context = await browser.newContext({ ...devices['Pixel 7'] });
      page = await context.newPage();
      // Generous: the machines that run these are often loaded, and a tap waits for a still page.
      page.setDefaultTimeout(120_000);
      errors = collectPageErrors(page);
      files = mkdtempSync(join(tmpdir(), 'console-upload-drop-'));
      await page.goto(`${proxy.url}/admin`);
      await page.getByLabel('Admin password').fill(stack.adminPassword);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#console-view').waitFor({ state: 'visible' });
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await proxy?.close();
      await stack?.dispose();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('resumes a 4 MiB photo cut mid-body from what the server holds, sending less than 1.5 times its size', async () => {
      const bytes = await uncompressedPng(1182, 90);
      expect(bytes.length).toBeGreaterThan(4_000_000);
      expect(bytes.length).toBeLessThan(8 * 1024 * 1024);
      const sent = await uploadThroughDrop('phone-photo.png', bytes);
      expect(
        sent,
        `${sent} bytes sent for a file of ${bytes.length} (${(sent / bytes.length).toFixed(2)}×)`,
      ).toBeLessThan(1.5 * bytes.length);
    }, 420_000);

    it('sends a small file cut mid-body again instead of refusing the repeat of its request', async () => {
      const bytes = await uncompressedPng(450, 200);
      expect(bytes.length).toBeLessThan(1024 * 1024);
      await uploadThroughDrop('small-photo.png', bytes);
      // Expected: the requests the resets cut (the uploads' and any poll's), and the 409 that
      // refused the browser's own repeat of the small file's post.
      expect(
        errors.filter((e) => !/ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|status of 409\b/.test(e)),
      ).toEqual([]);
      await expectNoSeriousAxeViolations(page, 'upload rows on a phone after a drop');
    }, 420_000);
  },
);
