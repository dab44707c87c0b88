/**
 * The slideshow order from the keyboard, in Chromium against the local stack:
 * the list is one stop of the Tab key (a roving tabindex) — Tab reaches one
 * item, then its position box and buttons, then leaves the list — where each
 * item used to be 4 to 6 stops; ↑/↓ go from item to item and Home/End to the
 * ends, and the item reached is the one Tab comes back to; Alt+↑/↓ still move
 * an item, announced and saved, and the list stays one stop after the move.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNoSeriousAxeViolations,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  seedImages,
  type TestBrowser,
} from './console-support.ts';
import { freshStack, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/**
 * The stops the Tab key makes in the slideshow order, from its heading until it
 * leaves the list (bounded: 60 presses), each as "<item id> <focus key or name>".
 */
async function tabStopsThroughOrder(page: Page): Promise<string[]> {
  await page.locator('#order-title').focus();
  const stops: string[] = [];
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const active = document.activeElement as HTMLElement | null;
      const li = active?.closest('#order > li') as HTMLElement | null;
      if (!li) return null;
      return `${li.dataset.id} ${active?.dataset.focus ?? active?.getAttribute('aria-label')}`;
    });
    if (stop === null) return stops;
    stops.push(stop);
  }
  throw new Error(`the Tab key never left the list: ${JSON.stringify(stops)}`);
}

describe.skipIf(NO_CHROMIUM)(
  'the slideshow order from the keyboard (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    const order = () =>
      page
        .locator('#order > li')
        .evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id ?? ''));

    beforeAll(async () => {
      stack = await freshStack();
      const ids = await seedImages(stack, 4, (i) => `order-key-${i}.jpg`);
      await waitForTerminal(stack, ids, 240_000);
      ({ browser, page, errors } = await openConsole(stack));
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it("is one Tab stop: one item, then that item's box and buttons, then out", async () => {
      await expect.poll(async () => (await order()).length, { timeout: 30_000 }).toBe(4);
      const [first] = (await order()) as [string];
      const stops = await tabStopsThroughOrder(page);
      // The first item cannot go up: To top and Up are disabled, so not stops.
      expect(stops).toEqual([
        `${first} item:${first}`,
        `${first} pos:${first}`,
        `${first} down:${first}`,
        expect.stringMatching(new RegExp(`^${first} Hide .* from the slideshow$`)),
      ]);
      await expectNoSeriousAxeViolations(page, 'slideshow order with one tab stop');
      expect(errors).toEqual([]);
    });

    it('goes from item to item with the arrows, Home and End; Tab comes back to the item reached', async () => {
      const [a, b, , d] = (await order()) as [string, string, string, string];
      await page.locator(`#order > li[data-id="${a}"]`).focus();
      await page.keyboard.press('ArrowDown');
      expect(await focusedElement(page)).toBe(`item:${b}`);
      await page.keyboard.press('End');
      expect(await focusedElement(page)).toBe(`item:${d}`);
      await page.keyboard.press('ArrowDown');
      expect(await focusedElement(page)).toBe(`item:${d}`);
      await page.keyboard.press('Home');
      expect(await focusedElement(page)).toBe(`item:${a}`);
      await page.keyboard.press('ArrowDown');
      // Out and back in: the list's stop is now the second item, with its four buttons.
      const stops = await tabStopsThroughOrder(page);
      expect(stops.map((stop) => stop.split(' ')[0])).toEqual([b, b, b, b, b, b]);
      expect(stops[0]).toBe(`${b} item:${b}`);
      expect(errors).toEqual([]);
    });

    it('moves the focused item with Alt+↓, announced and saved, and stays one stop', async () => {
      const [a, b, c, d] = (await order()) as [string, string, string, string];
      await page.locator('#order-title').focus();
      await page.keyboard.press('Tab');
      expect(await focusedElement(page)).toBe(`item:${b}`);
      await page.keyboard.press('Alt+ArrowDown');
      await expect.poll(order).toEqual([a, c, b, d]);
      expect(await focusedElement(page)).toBe(`item:${b}`);
      await expect
        .poll(() => page.locator('#announcer').textContent())
        .toMatch(/moved to position 3 of 4\. Saved\.$/);
      expect(await page.locator(`#order > li[data-id="${b}"]`).getAttribute('aria-label')).toMatch(
        /, position 3 of 4$/,
      );
      const stops = await tabStopsThroughOrder(page);
      expect(new Set(stops.map((stop) => stop.split(' ')[0]))).toEqual(new Set([b]));
      const saved = (await (await stack.admin('/api/admin/slideshow')).json()) as {
        images: { id: string }[];
      };
      expect(saved.images.map((i) => i.id)).toEqual([a, c, b, d]);
      expect(errors).toEqual([]);
    });
  },
);
