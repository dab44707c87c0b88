/**
 * The library in Chromium against the local stack: every one of more than 60
 * images is reachable (nextCursor, "Load more"), the cards load the 320 px
 * variant and the thumbnail bytes stay small, at most five pages stay in the
 * page, search / status filter / sorts, delete one and many with confirmation
 * from the keyboard alone (its questions in the singular for one image), the
 * axe-core audit, a 390 px phone, and the keyboard focus kept below the
 * header while tabbing up the grid, and a keyboard user's place kept when the
 * console finishes loading after login; "Select all shown" as a toggle, a
 * selection kept to the cards shown, and the focus kept on the page after a
 * save in the detail, a bulk action, the last "Load more" or "Show newer
 * images", and Hide in the slideshow order.
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  countRows,
  expectNoSeriousAxeViolations,
  focusedElement,
  launchBrowser,
  NO_CHROMIUM,
  openConsole,
  screenshot,
  seedImages,
  smallJpeg,
  storedKeys,
  type TestBrowser,
} from './console-support.ts';
import { freshStack, openDb, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** More than one page of 60. */
const SEEDED = 64;

describe.skipIf(NO_CHROMIUM)(
  'the library in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let all: string[];
    const cards = () => page.locator('#grid > li');
    const gridIds = async () =>
      await cards().evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.id ?? ''));

    beforeAll(async () => {
      stack = await freshStack();
      const seeded = await seedImages(stack, SEEDED);
      const named = await upload(stack, [
        {
          name: 'Beach sunset.jpg',
          bytes: await smallJpeg(900, 640, 480),
        },
        {
          name: 'mountain-lake.jpg',
          bytes: await smallJpeg(901, 400, 300),
        },
      ]);
      all = [...seeded, ...named];
      await waitForTerminal(stack, all, 400_000);
      ({ browser, page, errors } = await openConsole(stack));
    }, 480_000);
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

    it('deletes one image and then two at once with confirmation, from the keyboard alone', async () => {
      // A fresh page: the previous test's last sort and filter changes reload the grid
      // asynchronously, and ids read before that reload may not be among the cards after it.
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      await expect.poll(async () => await page.getByLabel('Sort').inputValue()).toBe('date:desc');
      const [one, two, three] = (await gridIds()).slice(0, 3) as [string, string, string];
      const card = (id: string) => page.locator(`#grid > li[data-id="${id}"]`);

      // One: open its detail with Enter, Delete… with Enter, then Escape keeps it.
      await card(one).locator('button.open').focus();
      await page.keyboard.press('Enter');
      await page.locator('#detail[open]').waitFor();
      await page.locator('#detail').getByRole('button', { name: 'Delete…' }).focus();
      await page.keyboard.press('Enter');
      await page.locator('#confirm[open]').waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await page.keyboard.press('Escape');
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });
      expect(countRows(stack, 'images', `id = '${one}'`)).toBe(1);
      await page.keyboard.press('Enter');
      await page.locator('#confirm[open]').waitFor();
      // Cancel and ask again within one task, as an Escape and an Enter typed at once
      // on a busy machine do: the first question's close event, fired later, must not
      // answer the second.
      await page.evaluate(() => {
        (document.querySelector('#confirm') as HTMLDialogElement).close('cancel');
        for (const b of Array.from(
          document.querySelectorAll<HTMLButtonElement>('#detail button'),
        )) {
          if (b.textContent === 'Delete…') b.click();
        }
      });
      await page.locator('#confirm[open]').waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await card(one).waitFor({ state: 'detached' });
      expect(countRows(stack, 'images', `id = '${one}'`)).toBe(0);

      // Two: select with Space, the bulk Delete… button, Tab to confirm.
      for (const id of [two, three]) {
        await card(id).locator('input.pick').focus();
        await page.keyboard.press('Space');
      }
      expect(await page.locator('#selection-count').textContent()).toBe('2 selected');
      // With one of them unselected again, the question is in the singular.
      await card(three).locator('input.pick').focus();
      await page.keyboard.press('Space');
      await page.locator('[data-bulk="delete"]').focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Delete 1 image?',
        message: 'Its file and every generated size are removed. This cannot be undone.',
      });
      await page.keyboard.press('Escape');
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });
      await card(three).locator('input.pick').focus();
      await page.keyboard.press('Space');
      expect(await page.locator('#selection-count').textContent()).toBe('2 selected');
      await page.locator('[data-bulk="delete"]').focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Delete 2 images?',
        message: 'Their files and every generated size are removed. This cannot be undone.',
      });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await card(two).waitFor({ state: 'detached' });
      await card(three).waitFor({ state: 'detached' });
      for (const id of [one, two, three]) {
        expect(countRows(stack, 'images', `id = '${id}'`)).toBe(0);
        expect(storedKeys(stack, `variants/${id}`)).toEqual([]);
        expect(storedKeys(stack, 'originals').filter((k) => k.endsWith(id))).toEqual([]);
      }
      await expect
        .poll(async () => await page.locator('#announcer').textContent())
        .toBe('2 images deleted.');
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

    it('selects every shown card with "Select all shown", and clears them with it again', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const selectAll = page.getByLabel('Select all shown');
      const count = page.locator('#selection-count');
      const picked = async () => await page.locator('#grid input.pick:checked').count();
      const indeterminate = async () =>
        await selectAll.evaluate((box) => (box as HTMLInputElement).indeterminate);
      await selectAll.click();
      expect(await count.textContent()).toBe('60 selected');
      expect(await picked()).toBe(60);
      expect(await selectAll.isChecked()).toBe(true);
      expect(await indeterminate()).toBe(false);
      // A toggle: all shown selected → none.
      await selectAll.click();
      expect(await count.textContent()).toBe('0 selected');
      expect(await picked()).toBe(0);
      expect(await selectAll.isChecked()).toBe(false);
      // From part of them (the box is indeterminate) to all, and back, from the keyboard.
      await cards().nth(3).locator('input.pick').check();
      expect(await indeterminate()).toBe(true);
      await selectAll.focus();
      await page.keyboard.press('Space');
      expect(await count.textContent()).toBe('60 selected');
      await page.keyboard.press('Space');
      expect(await count.textContent()).toBe('0 selected');
      // Under a search, all it shows.
      await page.getByLabel('Search by name or title').fill('seed-01');
      const matching = countRows(stack, 'images', "original_name LIKE 'seed-01%'");
      expect(matching).toBeGreaterThan(1);
      await expect.poll(async () => await cards().count()).toBe(matching);
      await selectAll.click();
      expect(await count.textContent()).toBe(`${matching} selected`);
      expect(await picked()).toBe(matching);
      await selectAll.click();
      expect(await count.textContent()).toBe('0 selected');
      expect(errors).toEqual([]);
    });

    it('keeps the selection to the cards shown when the search or a filter changes, and acts only on those', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const [kept, left] = (await gridIds()).slice(0, 2) as [string, string];
      const card = (id: string) => page.locator(`#grid > li[data-id="${id}"]`);
      const count = page.locator('#selection-count');
      for (const id of [kept, left]) await card(id).locator('input.pick').check();
      expect(await count.textContent()).toBe('2 selected');

      // A search that shows one of them: the other is no longer selected, nor deleted.
      const name = (await card(kept).locator('.label').textContent()) ?? '';
      await page.getByLabel('Search by name or title').fill(name);
      await expect.poll(async () => await gridIds()).toEqual([kept]);
      expect(await count.textContent()).toBe('1 selected');
      await page.locator('[data-bulk="delete"]').click();
      expect((await confirmation(page)).title).toBe('Delete 1 image?');
      await page.keyboard.press('Escape');
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });

      // Back to every image: the one still shown is still selected, the other is not.
      await page.getByLabel('Search by name or title').fill('');
      await expect.poll(async () => await cards().count()).toBe(60);
      expect(await count.textContent()).toBe('1 selected');
      expect(await card(kept).locator('input.pick').isChecked()).toBe(true);
      expect(await card(left).locator('input.pick').isChecked()).toBe(false);

      // A filter that shows none of them: nothing is selected, every bulk action is off.
      await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
      await expect
        .poll(async () => await page.locator('#grid-summary').textContent())
        .toBe('No image matches.');
      expect(await count.textContent()).toBe('0 selected');
      for (const button of await page.locator('[data-bulk]').all()) {
        expect(await button.isDisabled()).toBe(true);
      }
      await page.getByRole('combobox', { name: 'Status' }).selectOption('');
      await expect.poll(async () => await cards().count()).toBe(60);
      expect(await count.textContent()).toBe('0 selected');
      expect(countRows(stack, 'images', `id IN ('${kept}', '${left}')`)).toBe(2);
      expect(errors).toEqual([]);
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

    it('keeps the focus in the bulk bar when a bulk action from the keyboard disables its button', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const card = page.locator(`#grid > li[data-id="${(await gridIds())[5]!}"]`);
      await card.locator('input.pick').focus();
      await page.keyboard.press('Space');
      await page.locator('[data-bulk="hide"]').focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(async () => await page.locator('#announcer').textContent())
        .toBe('1 image hidden.');
      await expect.poll(async () => await card.locator('.badge.hidden').count()).toBe(1);
      await expect.poll(async () => await focusedElement(page)).toBe('select-all');
      // Shown again, the same way.
      await card.locator('input.pick').focus();
      await page.keyboard.press('Space');
      await page.locator('[data-bulk="publish"]').focus();
      await page.keyboard.press('Enter');
      await expect.poll(async () => await card.locator('.badge.hidden').count()).toBe(0);
      await expect.poll(async () => await focusedElement(page)).toBe('select-all');
      expect(errors).toEqual([]);
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
