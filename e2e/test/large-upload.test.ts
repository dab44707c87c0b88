/**
 * A file over Cloud Run's 32 MiB request limit, uploaded through the admin
 * page in Chromium (playwright-core) against the real local stack: the page
 * opens an upload session and sends the file in chunks (the local stack's
 * session route speaks Cloud Storage's resumable protocol, as production's
 * sessions do), survives a chunk whose connection drops, and the image is
 * processed. No request carries more than one chunk.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStack, openDb, waitForTerminal } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
/** Cloud Run's limit on an HTTP/1 request. */
const CLOUD_RUN_REQUEST_LIMIT = 32 * 1024 * 1024;
type Stack = Awaited<ReturnType<typeof freshStack>>;

/**
 * A real PNG over 32 MiB that is cheap to process: a smooth gradient stored
 * without compression (zlib level 0), so its size is its pixels'.
 */
async function largePng(): Promise<Buffer> {
  const width = 3500;
  const height = 3300;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 255) / width;
      pixels[i + 1] = (y * 255) / height;
      pixels[i + 2] = 128;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

describe.skipIf(!existsSync(CHROMIUM))(
  'a file over 32 MiB through the admin page (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: Browser;
    let page: Page;
    let files: string;

    beforeAll(async () => {
      stack = await freshStack();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      });
      page = await browser.newPage();
      files = mkdtempSync(join(tmpdir(), 'large-upload-'));
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('uploads it in chunks through a session, resumes a dropped chunk, and sees it processed', async () => {
      const bytes = await largePng();
      expect(bytes.length).toBeGreaterThan(CLOUD_RUN_REQUEST_LIMIT);
      const path = join(files, 'panorama.png');
      writeFileSync(path, bytes);

      // The third chunk's connection drops once: the page must ask where the session stands
      // and resume from there.
      let chunks = 0;
      let dropped = false;
      await page.route('**/api/upload-sessions/**', async (route) => {
        chunks++;
        if (chunks === 3 && !dropped) {
          dropped = true;
          await route.abort('connectionreset');
          return;
        }
        await route.continue();
      });

      await page.goto(`${stack.backendUrl}/admin`);
      await page.getByLabel('Admin password').fill(stack.adminPassword);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#console-view').waitFor({ state: 'visible' });
      await page.setInputFiles('#file-input', path);
      const item = page.locator('#uploads li', { hasText: 'panorama.png' });
      await item
        .locator('.msg', { hasText: /Accepted|Refused|error/ })
        .waitFor({ timeout: 180_000 });
      expect(await item.locator('.msg').textContent()).toBe('Accepted, queued for processing.');
      expect(dropped).toBe(true);

      const db = openDb(stack);
      let id: string;
      try {
        const row = db
          .prepare<[], { id: string; bytes: number }>(
            "SELECT id, bytes FROM images WHERE original_name = 'panorama.png'",
          )
          .get();
        expect(row?.bytes).toBe(bytes.length);
        id = row?.id as string;
        expect(db.prepare('SELECT count(*) AS n FROM upload_sessions').get()).toEqual({ n: 0 });
        expect(db.prepare('SELECT count(*) AS n FROM pending_originals').get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
      const [processed] = await waitForTerminal(stack, [id], 240_000);
      expect(processed?.status).toBe('processed');

      // Every byte came in session chunks; none through the one-request upload.
      const requests = readFileSync(join(stack.dataDir, 'logs', 'backend.log'), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { message?: string; method?: string; path?: string })
        .filter((l) => l.message === 'request');
      expect(requests.filter((r) => r.path === '/api/admin/upload')).toEqual([]);
      const puts = requests.filter(
        (r) => r.method === 'PUT' && r.path?.startsWith('/api/upload-sessions/'),
      );
      expect(puts.length).toBeGreaterThanOrEqual(Math.ceil(bytes.length / (2 * 1024 * 1024)));
      // The session's own files are gone with it.
      expect(readdirSync(join(stack.dataDir, 'storage', '.objectstore', 'uploads'))).toEqual([]);
    }, 420_000);
  },
);
