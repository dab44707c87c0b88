/**
 * The image detail as a link, and the console while the server cannot be
 * reached, in Chromium against the local stack: Back closes the detail, and
 * closing it clears the link at once, so a navigation right after is not cut
 * short by a history traversal; a detail
 * opened by a link on load gives the focus to its card when closed; a card
 * whose image was deleted elsewhere goes once its detail finds it gone; a
 * server that does not answer is said in a visible alert, in words, until a
 * poll gets through. The card button's focus ring and the selection ring
 * show (drawn inside the card, whose paint containment cuts what is outside).
 */
import type { Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  focusedElement,
  NO_CHROMIUM,
  nextFrames,
  openConsole,
  seedImages,
  type TestBrowser,
} from './console-support.ts';
import { freshStack, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** Waits (bounded) until the detail dialog is closed. */
async function detailClosed(page: Page): Promise<void> {
  await page.waitForFunction(() => !(document.getElementById('detail') as HTMLDialogElement).open);
}

/**
 * The pixels of the band 1–4 px inside a card button's left edge, over the
 * lower half of the card (away from its checkbox and rounded corners): where a
 * ring drawn inside the card shows. Its 1 px border is outside the band, and
 * whatever draws outside the card is cut by the card's paint containment.
 */
async function cardEdge(page: Page, card: Locator): Promise<Buffer> {
  const box = await card.boundingBox();
  if (!box) throw new Error('the card is not shown');
  const png = await page.screenshot({
    clip: {
      x: Math.round(box.x) + 1,
      y: Math.round(box.y + box.height / 2),
      width: 3,
      height: Math.floor(box.height / 2) - 8,
    },
  });
  return await sharp(png).removeAlpha().raw().toBuffer();
}

/** The share of RGB pixels that differ between two same-sized raw captures. */
function changedShare(a: Buffer, b: Buffer): number {
  expect(b.length).toBe(a.length);
  let changed = 0;
  for (let i = 0; i < a.length; i += 3) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) changed += 1;
  }
  return changed / (a.length / 3);
}

describe.skipIf(NO_CHROMIUM)(
  'the image detail as a link, and an unreachable server (skipped where /usr/bin/chromium is not installed)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let ids: string[];

    beforeAll(async () => {
      stack = await freshStack();
      ids = await seedImages(stack, 3, (i) => `link-${i}.jpg`);
      await waitForTerminal(stack, ids, 240_000);
      ({ browser, page, errors } = await openConsole(stack));
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    const openButton = (id: string) => page.locator(`#grid li[data-id="${id}"] button.open`);
    const path = () => new URL(page.url()).pathname;
    const hash = () => new URL(page.url()).hash;

    it('closes the detail on Back, and closing it clears the link at once: a navigation right after lands', async () => {
      // The page before the console, where Back from the console leads.
      await page.goto(`${stack.backendUrl}/#interval=60`);
      await page.goto(`${stack.backendUrl}/admin`);
      await openButton(ids[0]!).click();
      await page.locator('#detail[open]').waitFor();
      expect(hash()).toBe(`#image=${ids[0]}`);
      await page.goBack();
      await detailClosed(page);
      expect(hash()).toBe('');
      expect(await focusedElement(page)).toBe(`open:${ids[0]}`);

      await openButton(ids[1]!).click();
      await page.locator('#detail[open]').waitFor();
      await page.keyboard.press('Escape');
      await detailClosed(page);
      await expect.poll(hash).toBe('');
      // Cleared in place, not by going Back: nothing ahead in the history (the Navigation API
      // says so at once, where a Back traversal would leave the link's entry ahead). Going Back
      // landed after a navigation begun right after the close, and aborted it (net::ERR_ABORTED).
      const canGoForward = await page.evaluate(
        () =>
          (window as unknown as { navigation: { canGoForward: boolean } }).navigation.canGoForward,
      );
      expect(canGoForward).toBe(false);
      await page.goto(`${stack.backendUrl}/#interval=60`);
      expect(path()).toBe('/');
    });

    it('gives the focus to the card when a detail a link opened on load is closed with Escape', async () => {
      await page.goto(`${stack.backendUrl}/#interval=60`);
      await page.goto(`${stack.backendUrl}/admin#image=${ids[1]}`);
      await page.locator('#detail[open]').waitFor();
      await page.keyboard.press('Escape');
      await detailClosed(page);
      expect(await focusedElement(page)).toBe(`open:${ids[1]}`);
    });

    it("draws the card button's focus ring and the selection ring where they show, inside the card", async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await page.mouse.move(0, 0);
      const card = openButton(ids[0]!);
      await card.waitFor();
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll<HTMLImageElement>('#grid img.thumb')).every(
          (img) => img.complete && img.naturalWidth > 0,
        ),
      );
      // In view and laid out (content-visibility skips a card out of view, at its 12rem guess).
      await card.scrollIntoViewIfNeeded();
      await expect
        .poll(async () => {
          const box = JSON.stringify(await card.boundingBox());
          await nextFrames(page);
          return box === JSON.stringify(await card.boundingBox());
        })
        .toBe(true);
      const search = page.locator('#search');
      await search.focus();
      const before = await cardEdge(page, card);

      // Focused from the keyboard's side (the focus came from a text field): the ring shows.
      await card.focus();
      expect(await card.evaluate((e) => e.matches(':focus-visible'))).toBe(true);
      expect(changedShare(before, await cardEdge(page, card))).toBeGreaterThan(0.5);

      await search.focus();
      expect(changedShare(before, await cardEdge(page, card))).toBe(0);
      await page.locator(`#grid li[data-id="${ids[0]}"] .pick`).check();
      expect(changedShare(before, await cardEdge(page, card))).toBeGreaterThan(0.5);
      await page.locator(`#grid li[data-id="${ids[0]}"] .pick`).uncheck();
    });

    it('takes away the card of an image deleted elsewhere once its detail finds it gone', async () => {
      const victim = ids[2]!;
      await page.goto(`${stack.backendUrl}/admin`);
      await openButton(victim).waitFor();
      const deleted = await stack.admin(`/api/admin/images/${victim}`, { method: 'DELETE' });
      expect(deleted.status, await deleted.text()).toBe(200);
      await openButton(victim).click();
      await expect
        .poll(async () => await page.locator('#detail-title').textContent())
        .toBe(`No image ${victim}`);
      await page.keyboard.press('Escape');
      await detailClosed(page);
      await expect.poll(async () => await openButton(victim).count()).toBe(0);
      expect(await focusedElement(page)).not.toBe('BODY');
    });

    it('says in a visible alert that the server cannot be reached, until a poll gets through', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      // The console's first data has come (its library shows the two images left).
      await expect.poll(async () => await page.locator('#grid li').count()).toBe(2);
      const alert = page.locator('#unreachable');
      expect(await alert.isVisible()).toBe(false);
      const toServer = (url: URL) => url.pathname.startsWith('/api/') || url.pathname === '/status';
      await page.route(toServer, (route) => route.abort('internetdisconnected'));
      try {
        // Within a poll or two (every 3 s).
        await alert.waitFor({ state: 'visible', timeout: 15_000 });
        expect(await alert.getAttribute('role')).toBe('alert');
        expect(await alert.textContent()).toBe('Can’t reach the server — retrying.');
      } finally {
        await page.unroute(toServer);
      }
      await alert.waitFor({ state: 'hidden', timeout: 15_000 });
      // Only a request with no answer counts: a TypeError of the page's own code is not one.
      // A string, run as the page's own script: vitest would rewrite an import() in a function.
      const misread = await page.evaluate(
        "import('/assets/admin-reachability.js').then((m) => m.isNetworkError(new TypeError('x')))",
      );
      expect(misread).toBe(false);
      // What the browser logged: the requests cut here and the deleted image's 404s, nothing else.
      expect(errors.filter((e) => !e.startsWith('console: Failed to load resource'))).toEqual([]);
    });
  },
);
