/**
 * An open slideshow keeps up with the admin, in Chromium against the local
 * stack: the list is asked for again (with its ETag, so an unchanged list is
 * a 304) every `&refresh=` seconds, when the tab comes back into view and when
 * an image fails to load; a reorder keeps the slide on screen, a hidden or
 * deleted one is left for the next; a #slide= link changed in the page is
 * followed; with every image hidden the page says so and offers no controls;
 * the counter is announced only while the slides do not change by themselves;
 * an image is recorded as loaded once. No test waits for the default refresh
 * period: they cause a refresh (a visibilitychange, a failed image) or open
 * the page with `&refresh=1`.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  slideshowEvents as events,
  expectNoSeriousAxeViolations,
  launchBrowser,
  NO_CHROMIUM,
  nextFrames,
  seedImages,
  type TestBrowser,
  waitForSlideshowEvent as waitForEvent,
} from './console-support.ts';
import { adminJson, freshStack, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;
type Five = [string, string, string, string, string];

/** What the page does when its tab comes back into view (headless Chromium never hides it). */
const tabShownAgain = (page: Page) =>
  page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));

/** Follows a #slide= link within the page (a hashchange, no reload). */
const followLink = (page: Page, id: string) =>
  page.evaluate((slide) => {
    location.hash = `#slide=${slide}`;
  }, id);

/** The ids of the slides shown, in order, from the `from`th event on. */
const shownSince = async (page: Page, from: number) =>
  (await events(page))
    .slice(from)
    .filter((e) => e.type === 'shown')
    .map((e) => e.id);

const counter = async (page: Page) => await page.locator('#counter').textContent();

describe.skipIf(NO_CHROMIUM)(
  'an open slideshow follows the admin (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
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
    const bulk = (action: 'hide' | 'publish' | 'delete', of: string[]) =>
      adminJson(stack, '/api/admin/images/bulk', { action, ids: of });
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

    it('keeps the slide on screen when the list is reordered and drops a hidden one, once the tab is seen again', async () => {
      const [a, b, c, d, e] = ids as Five;
      await order([a, b, c, d, e]);
      const page = await openOn(b);
      try {
        await order([e, b, a, c, d]);
        await bulk('hide', [c]);
        const before = (await events(page)).length;
        await tabShownAgain(page);
        // Still on b, now the second of four: nothing was shown again.
        await expect.poll(() => counter(page)).toBe('2 / 4');
        expect(await shownSince(page, before)).toEqual([]);
        expect(await page.locator('#slide').getAttribute('aria-label')).toBe('2 of 4');
        expect(new URL(page.url()).hash).toBe(`#slide=${b}&interval=60`);
        for (const _ of [a, d, e]) await page.keyboard.press('ArrowRight');
        await waitForEvent(page, { type: 'shown', id: e });
        expect(await shownSince(page, before)).toEqual([a, d, e]);
      } finally {
        await page.close();
        await bulk('publish', [c]);
      }
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

    it('moves on from a deleted image whose files answer 404, reached by a #slide= link changed in the page', async () => {
      const [a, b, c, d, e] = ids as Five;
      await order([a, b, c, d, e]);
      // A browser of its own: c's files must not be in the cache (immutable, a year).
      const fresh = await launchBrowser();
      try {
        const page = await fresh.newPage();
        const pageErrors = collectPageErrors(page);
        await openOn(a, page);
        await bulk('delete', [c]);
        const before = (await events(page)).length;
        await followLink(page, c);
        await expect.poll(() => counter(page)).toBe('3 / 4');
        const since = (await events(page)).slice(before);
        expect(since.filter((x) => x.type === 'shown')).toMatchObject([
          { id: c, cause: 'link' },
          { id: d, cause: 'image-error' },
        ]);
        expect(since.filter((x) => x.type === 'image-error').map((x) => x.id)).toContain(c);
        // The link names the slide it moved on to, with the settings it was opened with.
        expect(new URL(page.url()).hash).toBe(`#slide=${d}&interval=60`);
        // Back to a known slide through the hash, and on to the next from there.
        await followLink(page, b);
        await waitForEvent(page, { type: 'shown', id: b, cause: 'link' });
        expect(await counter(page)).toBe('2 / 4');
        await page.keyboard.press('ArrowRight');
        await waitForEvent(page, { type: 'shown', id: d, cause: 'user' });
        // Chromium logs the 404s of c's files; nothing else.
        expect(pageErrors.filter((m) => !m.includes('status of 404'))).toEqual([]);
      } finally {
        await fresh.close();
        ids = ids.filter((id) => id !== c);
      }
    });

    it('asks again every &refresh= seconds with the ETag (an unchanged list is a 304) and leaves a hidden slide', async () => {
      const [a, b, d, e] = ids as [string, string, string, string];
      await order([a, b, d, e]);
      const page = await openPage();
      const statuses: number[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/api/slideshow') statuses.push(r.status());
      });
      try {
        await page.goto(`${stack.backendUrl}/#interval=60&refresh=1`);
        await waitForEvent(page, { type: 'shown', id: a });
        await bulk('hide', [a]);
        await expect.poll(() => counter(page)).toBe('1 / 3');
        expect((await events(page)).filter((x) => x.type === 'shown').at(-1)).toMatchObject({
          id: b,
          cause: 'timer',
        });
        expect(new URL(page.url()).hash).toBe(`#slide=${b}&interval=60&refresh=1`);
        // Asked again with nothing changed: a 304, which keeps the slide.
        await expect.poll(() => statuses.includes(304)).toBe(true);
        expect(statuses[0]).toBe(200);
        await waitForEvent(page, { type: 'list-unchanged' });
        expect(await shownSince(page, 0)).toEqual([a, b]);
      } finally {
        await page.close();
        await bulk('publish', [a]);
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
    });

    it('with every image hidden says so in the console’s words, offers no controls, and plays again once one is shown', async () => {
      const page = await openPage();
      try {
        await page.goto(`${stack.backendUrl}/#interval=60`);
        await waitForEvent(page, { type: 'image-loaded' });
        await bulk('hide', ids);
        await tabShownAgain(page);
        await expect.poll(async () => await page.locator('#empty').isVisible()).toBe(true);
        expect(await page.locator('#empty').textContent()).toBe(
          'No image is shown in the slideshow yet. Upload images, or show hidden ones, on the admin page.',
        );
        expect(await page.locator('#controls').isVisible()).toBe(false);
        expect(await page.locator('#slide img').count()).toBe(0);
        const before = (await events(page)).length;
        await page.keyboard.press('k');
        await page.keyboard.press('ArrowRight');
        await nextFrames(page);
        expect((await events(page)).slice(before)).toEqual([]);
        await expectNoSeriousAxeViolations(page, 'slideshow with no image shown');

        await bulk('publish', ids);
        await tabShownAgain(page);
        await waitForEvent(page, { type: 'shown', cause: 'visible' });
        expect(await page.locator('#empty').isVisible()).toBe(false);
        expect(await page.getByRole('button', { name: 'Pause slideshow' }).isVisible()).toBe(true);
        expect(await counter(page)).toBe(`1 / ${ids.length}`);

        // A page opened while nothing was shown (its first list empty): once images come, the
        // focus is on the slideshow, where its letter keys act (K pauses).
        await bulk('hide', ids);
        await page.reload();
        await expect.poll(async () => await page.locator('#empty').isVisible()).toBe(true);
        expect(await page.evaluate(() => document.activeElement?.id ?? null)).not.toBe('stage');
        await bulk('publish', ids);
        await tabShownAgain(page);
        await waitForEvent(page, { type: 'shown', cause: 'visible' });
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('stage');
        await page.keyboard.press('k');
        await expect
          .poll(async () => await page.getByRole('button', { name: 'Play slideshow' }).isVisible())
          .toBe(true);
      } finally {
        await page.close();
      }
      expect(errors.flat()).toEqual([]);
    });
  },
);
