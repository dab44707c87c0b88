/**
 * The admin console on a phone, in Chromium with a touch context
 * (`isMobile`, `hasTouch`) against the local stack: the slideshow order is
 * rearranged by touch in one step ("To top", or a number in an item's
 * position box) with one save, and its items stay short at 390 px.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  collectPageErrors,
  expectNoSeriousAxeViolations,
  focusedElement,
  login,
  NO_CHROMIUM,
  nextFrames,
  seedImages,
} from './console-support.ts';
import { freshStack, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** A phone held upright: Chromium's touch emulation, as on an iPhone 12–15. */
const PHONE = { width: 390, height: 844 };

/**
 * The tallest a slideshow item may be at 390 px: its two rows of 44 px touch
 * targets (position box and thumbnail beside the name; then the four buttons
 * across the item), the 4 px between them, 2 × 6.4 px of padding and the
 * 2 px border come to 107 px; 120 leaves room for a name on two lines. Before,
 * with the buttons stacked beside the name, these items were 157 px (208–231
 * px with longer names).
 */
const MAX_ITEM_HEIGHT = 120;

describe.skipIf(NO_CHROMIUM)(
  'the console on a touch phone (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: Browser;
    let page: Page;
    let errors: string[];
    const items = () => page.locator('#order > li');
    const order = () =>
      items().evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id ?? ''));
    beforeAll(async () => {
      stack = await freshStack();
      // Names as a phone's camera writes them.
      const ids = await seedImages(stack, 5, (i) => `PXL_20250611_12345${i}.jpg`);
      await waitForTerminal(stack, ids, 240_000);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      const context = await browser.newContext({
        viewport: PHONE,
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
      });
      page = await context.newPage();
      errors = collectPageErrors(page);
      await login(page, stack);
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('moves the last item to the top with one tap, and any item to a typed position, one save each', async () => {
      await expect.poll(async () => await items().count(), { timeout: 30_000 }).toBe(5);
      const [a, b, c, d, last] = (await order()) as [string, string, string, string, string];
      const saves: string[] = [];
      page.on('request', (request) => {
        if (request.method() === 'PUT' && request.url().endsWith('/api/admin/slideshow/order')) {
          saves.push(request.postData() ?? '');
        }
      });
      const announcer = page.locator('#announcer');
      const item = (id: string) => page.locator(`#order > li[data-id="${id}"]`);

      await item(last)
        .getByRole('button', { name: /^Move to top: / })
        .tap();
      await expect.poll(order).toEqual([last, a, b, c, d]);
      await expect
        .poll(() => announcer.textContent())
        .toMatch(/moved to position 1 of 5\. Saved\.$/);
      expect(saves.map((body) => JSON.parse(body))).toEqual([{ ids: [last, a, b, c, d] }]);

      // The item now last, by its position box: 2, then Enter (the phone keyboard's Done).
      const box = item(d).getByRole('textbox', { name: /^Position of / });
      expect(await box.inputValue()).toBe('5');
      await box.tap();
      await box.fill('2');
      await box.press('Enter');
      await expect.poll(order).toEqual([last, d, a, b, c]);
      await expect
        .poll(() => announcer.textContent())
        .toMatch(/moved to position 2 of 5\. Saved\.$/);
      expect(saves).toHaveLength(2);
      expect(JSON.parse(saves[1] ?? '')).toEqual({ ids: [last, d, a, b, c] });
      // The focus is on the moved item (the phone's keyboard closes), as after a keyboard move.
      expect(await focusedElement(page)).toBe(`item:${d}`);
      const saved = (await (await stack.admin('/api/admin/slideshow')).json()) as {
        images: { id: string }[];
      };
      expect(saved.images.map((i) => i.id)).toEqual([last, d, a, b, c]);
      // Every box shows its own position; the first item cannot go up, the last down.
      expect(
        await items().evaluateAll((lis) =>
          lis.map((li) => [
            (li.querySelector('input.position') as HTMLInputElement).value,
            (li.querySelector('[data-focus^="top:"]') as HTMLButtonElement).disabled,
            (li.querySelector('[data-focus^="down:"]') as HTMLButtonElement).disabled,
          ]),
        ),
      ).toEqual([
        ['1', true, false],
        ['2', false, false],
        ['3', false, false],
        ['4', false, false],
        ['5', false, true],
      ]);
      expect(errors).toEqual([]);
    });

    it(`keeps each slideshow item under ${MAX_ITEM_HEIGHT} px tall at 390 px, its buttons in one row`, async () => {
      await expect.poll(async () => await items().count(), { timeout: 30_000 }).toBe(5);
      // Each measured on screen: off screen, content-visibility gives an item its placeholder size.
      const heights: number[] = [];
      for (const li of await items().all()) {
        await li.scrollIntoViewIfNeeded();
        await nextFrames(page);
        heights.push((await li.boundingBox())?.height ?? Number.POSITIVE_INFINITY);
      }
      expect(Math.max(...heights), JSON.stringify(heights)).toBeLessThanOrEqual(MAX_ITEM_HEIGHT);
      const buttons = await items()
        .first()
        .locator('.row-actions button')
        .evaluateAll((all) => all.map((button) => button.getBoundingClientRect().top));
      expect(buttons).toHaveLength(4);
      expect(new Set(buttons).size).toBe(1);
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await expectNoSeriousAxeViolations(page, 'slideshow order on a touch phone');
    });
  },
);
