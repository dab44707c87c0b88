/**
 * The two web pages in a real browser (Debian's Chromium driven by
 * playwright-core) against the real local stack: log in, upload (one file
 * refused), watch images reach `processed` (and the batch bar 100 % only then),
 * retry the failed one, then check
 * the slideshow chose AVIF and showed the ThumbHash placeholder first.
 * Saves screenshots of both pages to e2e/screenshots/ (gitignored), or to
 * SCREENSHOTS_DIR: `npm run screenshots` (tools/refresh-screenshots.ts) points
 * that at docs/screenshots/ to refresh the README's pictures. A test run never
 * writes into the checkout's tracked files.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeSampleImages, makeTruncatedJpeg } from '@slideshow/tools/sample-images';
import { repoRoot } from '@slideshow/tools/shared-dir';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedTask, freshStack } from './helpers.ts';
import { launchChromium, openPhonePage } from './phone-browser.ts';

const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshots go: an ignored folder unless the screenshots command names one. */
const SCREENSHOTS = resolve(process.env.SCREENSHOTS_DIR ?? resolve(repoRoot, 'e2e/screenshots'));
type Stack = Awaited<ReturnType<typeof freshStack>>;

interface SlideEvent {
  type: string;
  id?: string;
  currentSrc?: string;
  t?: number;
}

// When the screenshots are asked for, a missing Chromium fails instead of skipping.
describe.skipIf(!existsSync(CHROMIUM) && process.env.SCREENSHOTS_DIR === undefined)(
  'the web pages in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: Browser;
    let page: Page;
    let files: string;

    beforeAll(async () => {
      stack = await freshStack();
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      files = mkdtempSync(join(tmpdir(), 'browser-files-'));
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('logs in, uploads with a clear refusal, shows progress to processed, and retries a failure', async () => {
      const [a, b] = await makeSampleImages(2);
      const corrupt = await makeTruncatedJpeg();
      const paths = [
        [a!.name, a!.bytes],
        [b!.name, b!.bytes],
        ['notes.jpg', Buffer.from('these are my notes, not a photo\n')],
        ['damaged.jpg', corrupt.bytes],
      ] as const;
      for (const [name, bytes] of paths) writeFileSync(join(files, name), bytes);

      await page.goto(`${stack.backendUrl}/admin`);
      await page.getByLabel('Admin password').fill(stack.adminPassword);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#console-view').waitFor({ state: 'visible' });

      await page.setInputFiles(
        '#file-input',
        paths.map(([name]) => join(files, name)),
      );
      const refused = page.locator('#uploads li.refused');
      await refused.first().waitFor({ timeout: 30_000 });
      await expect
        .poll(async () => await page.locator('#uploads li.accepted').count(), { timeout: 30_000 })
        .toBe(3);
      expect(await refused.count()).toBe(1);
      expect(await refused.textContent()).toContain('notes.jpg');
      expect(await refused.textContent()).toContain('UNSUPPORTED_FORMAT');

      // The grid updates without a reload: two processed, the damaged one failed.
      await expect
        .poll(async () => await page.locator('#grid li[data-status="processed"]').count(), {
          timeout: 120_000,
          interval: 500,
        })
        .toBe(2);
      await expect
        .poll(async () => await page.locator('#grid li[data-status="failed"]').count(), {
          timeout: 120_000,
          interval: 500,
        })
        .toBe(1);
      // The batch bar measures the whole job (bytes sent and images finished), so it reaches
      // 100 only once every accepted image has finished, not when the bytes are sent.
      await expect
        .poll(async () => await page.locator('#batch-progress').getAttribute('value'), {
          timeout: 30_000,
          interval: 250,
        })
        .toBe('100');
      const failedRow = page.locator('#failed tbody tr');
      await failedRow.first().waitFor();
      const failedId = await failedRow.first().getAttribute('data-id');
      expect(await failedRow.first().textContent()).toContain('CORRUPT_IMAGE');

      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'admin.png'), fullPage: true });

      await failedRow.first().getByRole('button', { name: /Retry/ }).click();
      // The retry resolves the failed task and re-queues the image under a new generation;
      // being damaged, it fails again and the row comes back with a second attempt.
      await expect
        .poll(async () => failedTask(stack, failedId!)?.attempt_count, {
          timeout: 120_000,
          interval: 500,
        })
        .toBe(2);

      await page.locator('#grid li[data-status="processed"] button').first().click();
      await page.locator('#detail[open]').waitFor();
      expect(await page.locator('#detail-body table tbody tr').count()).toBeGreaterThanOrEqual(3);
      // Every part of the detail is an element: a part left out (no Retry note) is no
      // stray text such as "null" (replaceChildren writes null as text, unlike el()).
      const strayText = await page.locator('#detail-body').evaluate((body) =>
        Array.from(body.childNodes)
          .filter((n) => n.nodeType === Node.TEXT_NODE)
          .map((n) => n.textContent),
      );
      expect(strayText).toEqual([]);
      // The processor's `total` is the imaging's alone: named so, beside the original's read.
      const timings = await page
        .locator('#detail-body dt', { hasText: 'Timings' })
        .locator('xpath=following-sibling::dd[1]')
        .textContent();
      expect(timings).toMatch(/imaging total \d+ ms/);
      expect(timings).toMatch(/original read \d+ ms/);
      expect(timings).not.toMatch(/(^|, )total /);
      await page.keyboard.press('Escape');
    });

    it('shows processed images as AVIF after their ThumbHash placeholder', async () => {
      await page.goto(`${stack.backendUrl}/`);
      await page.waitForFunction(
        () =>
          (window as unknown as { slideshowEvents?: SlideEvent[] }).slideshowEvents?.some(
            (e) => e.type === 'image-loaded',
          ),
        undefined,
        { timeout: 30_000 },
      );
      const events = await page.evaluate(
        () => (window as unknown as { slideshowEvents: SlideEvent[] }).slideshowEvents,
      );
      const loaded = events.find((e) => e.type === 'image-loaded');
      expect(loaded?.currentSrc).toMatch(/\.avif$/);
      const shown = events.findIndex((e) => e.type === 'placeholder-shown' && e.id === loaded?.id);
      expect(shown).toBeGreaterThanOrEqual(0);
      expect(shown).toBeLessThan(events.indexOf(loaded!));
      await page.screenshot({ path: join(SCREENSHOTS, 'slideshow.png') });

      // Keyboard navigation moves to the next slide.
      await page.keyboard.press('ArrowRight');
      await expect.poll(async () => await page.locator('#counter').textContent()).toMatch(/^2 \//);
    });

    it('serves both pages with a strict Content-Security-Policy and no third-party origin', async () => {
      for (const path of ['/', '/admin']) {
        const response = await fetch(`${stack.backendUrl}${path}`);
        const csp = response.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("default-src 'none'");
        expect(csp).not.toContain('unsafe-inline');
        expect(await response.text()).not.toMatch(/https?:\/\//);
      }
    });

    it('fits a phone-sized viewport without horizontal scrolling', async () => {
      const phone = await openPhonePage(browser);
      try {
        for (const path of ['/', '/admin']) {
          await phone.goto(`${stack.backendUrl}${path}`);
          const overflow = await phone.evaluate(
            () => document.documentElement.scrollWidth - window.innerWidth,
          );
          expect(overflow, path).toBeLessThanOrEqual(0);
        }
      } finally {
        await phone.context().close();
      }
    });
  },
);
