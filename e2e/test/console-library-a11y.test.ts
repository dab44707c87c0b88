/**
 * The library for keyboard, screen-reader and phone users in Chromium against
 * the local stack: the axe-core audit with the detail dialog open, a 390 px
 * phone, the keyboard focus kept below the header while tabbing up the grid, a
 * keyboard user's place kept when the console finishes loading after login,
 * and the focus kept on the page after a save in the detail and after Hide in
 * the slideshow order. Paging and search: console-library-browse.test.ts;
 * selection: console-library-selection.test.ts.
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNoSeriousAxeViolations,
  focusedElement,
  launchBrowser,
  NO_CHROMIUM,
  openConsole,
  screenshot,
  type TestBrowser,
} from './console-support.ts';
import {
  LIBRARY_SETUP_TIMEOUT,
  libraryCards,
  libraryStack,
  type Stack,
  shownIds,
} from './library-support.ts';

describe.skipIf(NO_CHROMIUM)(
  'the library for keyboard and phone users in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    const cards = () => libraryCards(page);
    const gridIds = () => shownIds(page);

    beforeAll(async () => {
      ({ stack } = await libraryStack());
      ({ browser, page, errors } = await openConsole(stack));
    }, LIBRARY_SETUP_TIMEOUT);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('passes the axe-core audit with the library and the detail dialog open', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      await expectNoSeriousAxeViolations(page, 'admin console');
      await cards().first().locator('button.open').click();
      await page.locator('#detail[open]').waitFor();
      await page.locator('#timeline li').first().waitFor();
      await expectNoSeriousAxeViolations(page, 'image detail dialog');
      await screenshot(page, 'console-detail');
      await page.keyboard.press('Escape');
    });

    it('fits a 390 px phone with the console and the dialog open', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        await page.goto(`${stack.backendUrl}/admin`);
        await expect.poll(async () => await cards().count()).toBe(60);
        const overflow = () =>
          page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(await overflow()).toBeLessThanOrEqual(0);
        await cards().first().locator('button.open').click();
        await page.locator('#detail[open]').waitFor();
        expect(await overflow()).toBeLessThanOrEqual(0);
        const dialog = await page.locator('#detail').boundingBox();
        expect(dialog!.x + dialog!.width).toBeLessThanOrEqual(390);
        await page.keyboard.press('Escape');
      } finally {
        await page.setViewportSize({ width: 1280, height: 900 });
      }
      expect(errors).toEqual([]);
    });

    it('keeps the keyboard focus below the header while tabbing up the library, on a phone and wider', async () => {
      for (const viewport of [
        { width: 390, height: 844 },
        { width: 700, height: 600 },
      ]) {
        await page.setViewportSize(viewport);
        try {
          await page.goto(`${stack.backendUrl}/admin`);
          await expect.poll(async () => await cards().count()).toBe(60);
          // A card far down the grid, then Shift+Tab upward over the cards above it.
          await cards().nth(20).locator('input.pick').focus();
          for (let i = 0; i < 12; i += 1) {
            await page.keyboard.press('Shift+Tab');
            const where = await page.evaluate(() => {
              const focused = document.activeElement!.getBoundingClientRect();
              const bar = document.querySelector('.bar')!.getBoundingClientRect();
              return { top: focused.top, bottom: focused.bottom, barBottom: bar.bottom };
            });
            const what = `${viewport.width} px, Shift+Tab ${i + 1}: ${JSON.stringify(where)}`;
            expect(where.top, what).toBeGreaterThanOrEqual(Math.max(0, where.barBottom));
            expect(where.bottom, what).toBeLessThanOrEqual(viewport.height);
          }
        } finally {
          await page.setViewportSize({ width: 1280, height: 900 });
        }
      }
      expect(errors).toEqual([]);
    });

    it('leaves the focus where a keyboard user put it while the console was still loading', async () => {
      // A browser of its own, so this is a real login (the others share one session).
      const own = await launchBrowser();
      try {
        const late = await own.newPage();
        // The library's first page is held until the user has moved on.
        const held: Route[] = [];
        let holding = true;
        await late.route(
          (url) => url.pathname === '/api/admin/images',
          (route) => (holding ? held.push(route) : route.continue()),
        );
        // The console's periodic refresh starts once its first load is over: a second
        // `/status` request means the login's whole sequence has run.
        let statusRequests = 0;
        late.on('request', (request) => {
          if (new URL(request.url()).pathname === '/status') statusRequests += 1;
        });
        await late.goto(`${stack.backendUrl}/admin`);
        await late.getByLabel('Admin password').fill(stack.adminPassword);
        await late.getByRole('button', { name: 'Log in' }).click();
        await late.locator('#console-view').waitFor({ state: 'visible' });
        // The console is focused as soon as it shows, while its library is still loading...
        await expect.poll(() => late.evaluate(() => document.activeElement?.id)).toBe('main');
        await expect.poll(() => held.length).toBeGreaterThan(0);
        await expect.poll(() => late.locator('#regen-preset').textContent()).not.toBe('');
        // ...and a keyboard user who moved on keeps their place when it has loaded.
        await late.locator('#regen-dry-run').focus();
        holding = false;
        for (const route of held.splice(0)) await route.continue();
        await expect.poll(async () => await late.locator('#grid > li').count()).toBe(60);
        await expect.poll(() => statusRequests).toBeGreaterThanOrEqual(2);
        expect(await late.evaluate(() => document.activeElement?.id)).toBe('regen-dry-run');
      } finally {
        await own.close();
      }
    });

    it('gives the focus back to the card after saving in its detail and closing it with Escape', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const id = (await gridIds())[4]!;
      const card = page.locator(`#grid > li[data-id="${id}"]`);

      // Saving re-renders the card behind the dialog; Escape still lands on it.
      await card.locator('button.open').focus();
      await page.keyboard.press('Enter');
      await page.locator('#detail[open]').waitFor();
      await page.getByLabel('Title', { exact: true }).fill('Saved from the keyboard');
      await page.getByRole('button', { name: 'Save' }).focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(async () => await page.locator('#describe-status').textContent())
        .toBe('Saved.');
      await expect
        .poll(async () => await card.locator('.label').textContent())
        .toBe('Saved from the keyboard');
      await page.keyboard.press('Escape');
      await page.locator('#detail[open]').waitFor({ state: 'detached' });
      await expect.poll(async () => await focusedElement(page)).toBe(`open:${id}`);
      expect(errors).toEqual([]);
    });

    it('moves the focus to the next image of the slideshow order after Hide', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      const items = page.locator('#order > li');
      await expect.poll(async () => await items.count()).toBeGreaterThan(2);
      const [first, second] = (await items.evaluateAll((lis) =>
        lis.slice(0, 2).map((li) => (li as HTMLElement).dataset.id ?? ''),
      )) as [string, string];
      await items
        .first()
        .getByRole('button', { name: /^Hide / })
        .focus();
      await page.keyboard.press('Enter');
      await expect.poll(async () => await items.first().getAttribute('data-id')).toBe(second);
      await expect.poll(async () => await focusedElement(page)).toBe(`item:${second}`);
      const response = await stack.admin(`/api/admin/images/${first}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ published: true }),
      });
      expect(response.status, await response.text()).toBe(200);
      expect(errors).toEqual([]);
    });
  },
);
