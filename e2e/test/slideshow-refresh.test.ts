/**
 * The public slideshow in Chromium against the local stack, beside
 * console-slideshow.test.ts: the counter is announced only while the slides
 * do not change by themselves; an image is recorded as loaded once.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  slideshowEvents as events,
  launchBrowser,
  NO_CHROMIUM,
  nextFrames,
  seedImages,
  type TestBrowser,
  waitForSlideshowEvent as waitForEvent,
} from './console-support.ts';
import { freshStack, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;
type Five = [string, string, string, string, string];

describe.skipIf(NO_CHROMIUM)(
  'the public slideshow (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let ids: string[];
    const errors: string[][] = [];

    /** A page of the shared browser; its errors are checked at the end. */
    const openPage = async () => {
      const page = await browser.newPage();
      errors.push(collectPageErrors(page));
      return page;
    };
    /** Opens the slideshow on slide `id` (autoplay every 60 s) and waits for its image. */
    const openOn = async (id: string, page?: Page) => {
      page ??= await openPage();
      await page.goto(`${stack.backendUrl}/#slide=${id}&interval=60`);
      await waitForEvent(page, { type: 'image-loaded', id });
      return page;
    };
    const order = async (of: string[]) => {
      const response = await stack.admin('/api/admin/slideshow/order', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: of }),
      });
      expect(response.status, await response.text()).toBe(200);
    };

    beforeAll(async () => {
      stack = await freshStack();
      ids = await seedImages(stack, 5);
      await waitForTerminal(stack, ids, 240_000);
      browser = await launchBrowser();
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('records a slide’s image as loaded once, also one fetched ahead (complete when shown)', async () => {
      const [a, b, c, d, e] = ids as Five;
      await order([a, b, c, d, e]);
      const page = await openOn(a);
      try {
        // The next slide's image has been fetched ahead (its URL holds its id).
        await page.waitForFunction(
          (id) =>
            performance
              .getEntriesByType('resource')
              .some(
                (r) =>
                  r.name.includes(`/${id}/`) && (r as PerformanceResourceTiming).responseEnd > 0,
              ),
          b,
          { timeout: 30_000 },
        );
        await page.keyboard.press('ArrowRight');
        await waitForEvent(page, { type: 'image-loaded', id: b });
        // A second load event, if one was queued, is handled by then.
        await nextFrames(page);
        const loads = (await events(page)).filter((x) => x.type === 'image-loaded');
        expect(loads.map((x) => x.id)).toEqual([a, b]);
      } finally {
        await page.close();
      }
    });

    it('announces the counter only while the slides do not change by themselves', async () => {
      const page = await openPage();
      try {
        await page.goto(`${stack.backendUrl}/#interval=60`);
        await waitForEvent(page, { type: 'shown', cause: 'start' });
        expect(await page.locator('#slide').getAttribute('aria-live')).toBe('off');
        expect(await page.locator('#counter').getAttribute('aria-live')).toBe('off');
        await page.keyboard.press('k');
        await waitForEvent(page, { type: 'autoplay', reason: 'user', playing: false });
        expect(await page.locator('#slide').getAttribute('aria-live')).toBe('polite');
        expect(await page.locator('#counter').getAttribute('aria-live')).toBe('polite');
      } finally {
        await page.close();
      }
      expect(errors.flat()).toEqual([]);
    });
  },
);
