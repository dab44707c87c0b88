/**
 * Browsing the library in Chromium against the local stack: every one of more
 * than 60 images is reachable (nextCursor, "Load more"), the cards load the
 * 320 px variant and the thumbnail bytes stay small, at most five pages stay
 * in the page, search / status filter / sorts, and the focus goes to the
 * first card the last "Load more" or "Show newer images" showed. Selection
 * and bulk actions: console-library-selection.test.ts; the audit, a phone and
 * the keyboard focus: console-library-a11y.test.ts.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countRows,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  screenshot,
  type TestBrowser,
} from './console-support.ts';
import { openDb } from './helpers.ts';
import {
  LIBRARY_SETUP_TIMEOUT,
  libraryCards,
  libraryStack,
  type Stack,
  shownIds,
} from './library-support.ts';

describe.skipIf(NO_CHROMIUM)(
  'the library paging, searching and sorting in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let all: string[];
    const cards = () => libraryCards(page);
    const gridIds = () => shownIds(page);

    beforeAll(async () => {
      ({ stack, all } = await libraryStack());
      ({ browser, page, errors } = await openConsole(stack));
    }, LIBRARY_SETUP_TIMEOUT);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('reaches every image through Load more, loading only 320 px thumbnails', async () => {
      await expect.poll(async () => await cards().count()).toBe(60);
      const more = page.getByRole('button', { name: 'Load more' });
      await more.click();
      await expect.poll(async () => await cards().count()).toBe(all.length);
      expect(await more.isHidden()).toBe(true);
      expect((await gridIds()).sort()).toEqual([...all].sort());

      // Scroll every card into view so each lazy thumbnail loads, then read what was fetched.
      for (const card of await cards().all()) await card.scrollIntoViewIfNeeded();
      await expect
        .poll(
          async () =>
            await page.evaluate(() =>
              Array.from(document.querySelectorAll<HTMLImageElement>('#grid img.thumb')).every(
                (img) => img.complete && img.naturalWidth > 0,
              ),
            ),
          { timeout: 60_000 },
        )
        .toBe(true);
      const chosen = await page.evaluate(() =>
        Array.from(document.querySelectorAll<HTMLImageElement>('#grid img.thumb')).map(
          (img) => img.currentSrc,
        ),
      );
      expect(chosen).toHaveLength(all.length);
      for (const src of chosen) expect(src).toMatch(/\/w320\.avif$/);
      const media = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/media/'))
          .map((e) => ({ name: e.name, bytes: (e as PerformanceResourceTiming).encodedBodySize })),
      );
      expect(
        media.every((m) => /\/w320\.avif$/.test(m.name)),
        JSON.stringify(media),
      ).toBe(true);
      const total = media.reduce((s, m) => s + m.bytes, 0);
      // 66 cards of 320 px AVIF: a few KB each (the largest WebP was ~580 KB per card before).
      expect(total).toBeLessThan(all.length * 30_000);
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, 'console-library');
    });

    it('keeps at most five pages in the page and fetches earlier ones again', async () => {
      await page.goto(`${stack.backendUrl}/admin?pageSize=10`);
      await expect.poll(async () => await cards().count()).toBe(10);
      const seen = new Set(await gridIds());
      const more = page.getByRole('button', { name: 'Load more' });
      for (let page_ = 1; page_ < 7; page_ += 1) {
        await more.click();
        await expect.poll(async () => (await gridIds()).some((id) => !seen.has(id))).toBe(true);
        for (const id of await gridIds()) seen.add(id);
        expect(await cards().count()).toBeLessThanOrEqual(50);
      }
      expect(seen.size).toBe(all.length);
      const newer = page.getByRole('button', { name: 'Show newer images' });
      expect(await newer.isVisible()).toBe(true);
      const before = await gridIds();
      await newer.click();
      await expect.poll(async () => (await gridIds())[0] !== before[0]).toBe(true);
      expect(await cards().count()).toBeLessThanOrEqual(50);
    });

    it('searches by name, filters by status and sorts by name and size', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      await page.getByLabel('Search by name or title').fill('beach');
      await expect.poll(async () => await cards().count()).toBe(1);
      expect(await cards().first().textContent()).toContain('Beach sunset.jpg');
      await page.getByLabel('Search by name or title').fill('');
      await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
      await expect
        .poll(async () => await page.locator('#grid-summary').textContent())
        .toBe('No image matches.');
      await page.getByRole('combobox', { name: 'Status' }).selectOption('processed');
      await page.getByLabel('Sort').selectOption('name:asc');
      await expect
        .poll(async () => await cards().first().locator('.label').textContent())
        .toBe('Beach sunset.jpg');
      await page.getByLabel('Sort').selectOption('size:desc');
      const db = openDb(stack);
      const largest = db
        .prepare('SELECT id FROM images ORDER BY bytes DESC, id DESC LIMIT 1')
        .get() as {
        id: string;
      };
      db.close();
      await expect.poll(async () => await cards().first().getAttribute('data-id')).toBe(largest.id);
      await page.getByLabel('Sort').selectOption('date:desc');
      await page.getByRole('combobox', { name: 'Status' }).selectOption('');
    });

    it('moves the focus to the first card the last "Load more" showed', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      // "Load more" fetching the last page hides itself: the focus goes to its first card.
      const total = countRows(stack, 'images');
      expect(total).toBeGreaterThan(60);
      const more = page.getByRole('button', { name: 'Load more' });
      await more.focus();
      await page.keyboard.press('Enter');
      await expect.poll(async () => await cards().count()).toBe(total);
      expect(await more.isHidden()).toBe(true);
      const sixtyFirst = (await gridIds())[60]!;
      await expect.poll(async () => await focusedElement(page)).toBe(`open:${sixtyFirst}`);
      expect(errors).toEqual([]);
    });

    it('moves the focus to the newest card when "Show newer images" fetched the first page', async () => {
      // Pages of 10: five "Load more" drop the first page, which "Show newer images" fetches again.
      await page.goto(`${stack.backendUrl}/admin?pageSize=10`);
      await expect.poll(async () => await cards().count()).toBe(10);
      const newest = (await gridIds())[0]!;
      const more = page.getByRole('button', { name: 'Load more' });
      const newer = page.getByRole('button', { name: 'Show newer images' });
      for (let i = 0; i < 5 && (await newer.isHidden()); i += 1) {
        const before = (await gridIds()).at(-1);
        await more.click();
        await expect.poll(async () => (await gridIds()).at(-1)).not.toBe(before);
      }
      expect(await newer.isVisible()).toBe(true);
      await newer.focus();
      await page.keyboard.press('Enter');
      await expect.poll(async () => (await gridIds())[0]).toBe(newest);
      expect(await newer.isHidden()).toBe(true);
      await expect.poll(async () => await focusedElement(page)).toBe(`open:${newest}`);
      expect(errors).toEqual([]);
    });
  },
);
