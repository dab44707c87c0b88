/**
 * The public slideshow under a finger and a mouse, in Chromium against the
 * local stack (phone contexts: touch, 390 × 844 at 3 device pixels per CSS
 * pixel; desktop contexts: a mouse, 1280 × 900): a pinch zooms the page and
 * is never taken for a swipe; a tap on a control hits it and holds no
 * autoplay; a tap or a click on the caption holds no autoplay either (only
 * the keyboard's focus on it does: slideshow-a11y.test.ts); a tap or a click
 * on the picture hides the controls and the caption, and a tap, a click, a
 * key or, with a mouse, moving onto them brings them back. The slow link and
 * Save-Data are slideshow-network.test.ts's.
 */
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  slideshowEvents as events,
  expectNoSeriousAxeViolations,
  NO_CHROMIUM,
  nextFrames,
  type SlideEvent,
  smallJpeg,
  waitForSlideshowEvent as waitForEvent,
} from './console-support.ts';
import { freshStack, upload, waitForTerminal } from './helpers.ts';
import { launchChromium, PHONE } from './phone-browser.ts';
import { centre, DESKTOP } from './slideshow-support.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** Touches with the fingers at `from` (one point each), moves them to `to` in 12 steps, lifts them. */
async function touchMove(page: Page, from: [number, number][], to: [number, number][]) {
  const cdp = await page.context().newCDPSession(page);
  const at = (step: number) =>
    from.map(([x, y], id) => {
      const [x2, y2] = to[id] as [number, number];
      return { id, x: x + ((x2 - x) * step) / 12, y: y + ((y2 - y) * step) / 12 };
    });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0) });
  for (let step = 1; step <= 12; step += 1) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(step) });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

const counter = (page: Page) => page.locator('#counter').textContent();
const zoom = (page: Page) => page.evaluate(() => window.visualViewport?.scale ?? 1);
const shown = async (page: Page) => (await events(page)).filter((e) => e.type === 'shown');
/** The controls' opacity: 0 once hidden (after their fade). */
const controlsOpacity = (page: Page) =>
  page.locator('#controls').evaluate((el) => getComputedStyle(el).opacity);

/** Whether the controls and the caption are hidden (slideshow-hide-controls.js). */
const controlsOff = (page: Page) =>
  page.evaluate(() => document.body.classList.contains('controls-off'));
/** Waits (bounded) for an autoplay step recorded after the first `since` events. */
const autoplayStepAfter = (page: Page, since: number) =>
  page.waitForFunction(
    (from) =>
      (window as unknown as { slideshowEvents: SlideEvent[] }).slideshowEvents
        .slice(from)
        .some((e) => e.type === 'shown' && e.cause === 'autoplay'),
    since,
    { timeout: 30_000 },
  );

describe.skipIf(NO_CHROMIUM)(
  'the slideshow under a finger and a mouse (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: Browser;
    let ids: [string, string, string];
    const errors: string[][] = [];

    /** A page in a fresh context (its own cache) with `options`; its errors are checked at the end. */
    const openPage = async (options: BrowserContextOptions = {}) => {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      errors.push(collectPageErrors(page));
      return page;
    };
    const closePage = (page: Page) => page.context().close();

    beforeAll(async () => {
      stack = await freshStack();
      const files = [1, 2, 3].map(async (seed) => ({
        name: `photo-${seed}.jpg`,
        bytes: await smallJpeg(seed, 1600, 1067),
      }));
      ids = (await upload(stack, await Promise.all(files))) as [string, string, string];
      await waitForTerminal(stack, ids, 240_000);
      await stack.admin(`/api/admin/images/${ids[0]}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'A field', caption: 'Seen from the road' }),
      });
      browser = await launchChromium();
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('zooms on a pinch without stepping the slides, and steps on a one-finger swipe', async () => {
      const page = await openPage(PHONE);
      try {
        await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: ids[0] });
        const first = await counter(page);
        await touchMove(page, [[300, 300]], [[80, 300]]);
        await waitForEvent(page, { type: 'shown', cause: 'user' });
        const second = await counter(page);
        expect(second).not.toBe(first);
        // Two fingers spread apart: the page zooms, the slide stays.
        await touchMove(
          page,
          [
            [175, 400],
            [215, 400],
          ],
          [
            [40, 400],
            [350, 400],
          ],
        );
        await expect.poll(() => zoom(page)).toBeGreaterThan(1);
        expect(await counter(page)).toBe(second);
        // Zoomed in, one finger moves the picture: no swipe.
        await touchMove(page, [[300, 300]], [[80, 300]]);
        await nextFrames(page);
        expect(await counter(page)).toBe(second);
        expect((await shown(page)).length).toBe(2);
      } finally {
        await closePage(page);
      }
    });

    it('pauses on a tap on Pause, and keeps playing after a tap on Next', async () => {
      const page = await openPage(PHONE);
      try {
        await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: ids[0] });
        const play = await centre(page, '#play');
        await page.touchscreen.tap(play.x, play.y);
        await expect.poll(() => page.locator('#play').textContent()).toBe('Play');
        // The tap moved nothing: Play is where Pause was, and a second tap plays again.
        expect(await centre(page, '#play')).toEqual(play);
        await page.touchscreen.tap(play.x, play.y);
        await expect.poll(() => page.locator('#play').textContent()).toBe('Pause');
      } finally {
        await closePage(page);
      }
      const next = await openPage(PHONE);
      try {
        await next.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=2`);
        await waitForEvent(next, { type: 'image-loaded', id: ids[0] });
        const button = await centre(next, '#next');
        await next.touchscreen.tap(button.x, button.y);
        await waitForEvent(next, { type: 'shown', cause: 'user' });
        // The focus the tap left on Next holds nothing: autoplay goes on (2 s a slide).
        await next.waitForFunction(
          () => {
            const list = (window as unknown as { slideshowEvents: SlideEvent[] }).slideshowEvents;
            const tapped = list.findIndex((e) => e.type === 'shown' && e.cause === 'user');
            return list.slice(tapped).some((e) => e.type === 'shown' && e.cause === 'autoplay');
          },
          undefined,
          { timeout: 60_000 },
        );
        expect(await next.evaluate(() => document.activeElement?.id)).toBe('next');
      } finally {
        await closePage(next);
      }
    });

    it('hides the controls and the caption on a tap on the picture, and shows them on the next tap or a key', async () => {
      const page = await openPage(PHONE);
      try {
        await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: ids[0] });
        const picture = await centre(page, '#slide picture img');
        const play = await centre(page, '#play');
        await page.touchscreen.tap(picture.x, picture.y);
        await expect.poll(() => controlsOpacity(page)).toBe('0');
        await expect
          .poll(() => page.locator('#caption').evaluate((el) => getComputedStyle(el).opacity))
          .toBe('0');
        expect(await page.locator('#controls-status').textContent()).toMatch(/^Controls hidden/);
        // A tap where Pause was reaches the picture: it brings the controls back, pauses nothing.
        const under = await page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.id, play);
        expect(under).not.toBe('play');
        await page.touchscreen.tap(play.x, play.y);
        await expect.poll(() => controlsOpacity(page)).toBe('1');
        expect(await page.locator('#play').textContent()).toBe('Pause');
        expect(await page.locator('#controls-status').textContent()).toBe('Controls shown.');
        // Hidden again, then Tab: the keyboard brings them back.
        await page.touchscreen.tap(picture.x, picture.y);
        await expect.poll(() => controlsOpacity(page)).toBe('0');
        await page.keyboard.press('Tab');
        await expect.poll(() => controlsOpacity(page)).toBe('1');
        expect((await shown(page)).length).toBe(1);
        await expectNoSeriousAxeViolations(
          page,
          'the slideshow on a phone after hiding its controls',
        );
      } finally {
        await closePage(page);
      }
    });

    it('keeps playing after a tap or a mouse click on the caption (only the keyboard’s focus on it holds autoplay)', async () => {
      for (const [device, options] of [
        ['phone', PHONE],
        ['desktop', DESKTOP],
      ] as const) {
        const page = await openPage(options);
        try {
          await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=5`);
          await waitForEvent(page, { type: 'image-loaded', id: ids[0] });
          const since = (await events(page)).length;
          const caption = await centre(page, '#caption');
          if (device === 'phone') await page.touchscreen.tap(caption.x, caption.y);
          else await page.mouse.click(caption.x, caption.y);
          // The tap or click focused the caption (it is focusable, for the keyboard to scroll it)…
          expect(await page.evaluate(() => document.activeElement?.id), device).toBe('caption');
          await nextFrames(page);
          // …and holds nothing: autoplay does not say it waits, and steps on (5 s a slide).
          expect(await page.locator('#held').isVisible(), device).toBe(false);
          const autoplay = (await events(page)).filter((e) => e.type === 'autoplay');
          expect((autoplay.at(-1) as { holds?: string[] }).holds, device).not.toContain('caption');
          await autoplayStepAfter(page, since);
          // Nor did it hide the controls, as a tap or a click on the picture does.
          expect(await controlsOff(page), device).toBe(false);
        } finally {
          await closePage(page);
        }
      }
    });

    it('hides the controls and the caption on a mouse click on the picture, and shows them on a click, a move onto them or a key', async () => {
      const page = await openPage(DESKTOP);
      try {
        await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: ids[0] });
        const picture = await centre(page, '#slide picture img');
        const hideByClick = async () => {
          await page.mouse.click(picture.x, picture.y);
          await expect.poll(() => controlsOpacity(page)).toBe('0');
        };
        await hideByClick();
        await expect
          .poll(() => page.locator('#caption').evaluate((el) => getComputedStyle(el).opacity))
          .toBe('0');
        expect(await page.locator('#controls-status').textContent()).toMatch(/^Controls hidden/);
        // The mouse moving about the picture leaves them hidden (a hand is never quite still).
        await page.mouse.move(picture.x + 200, picture.y + 100, { steps: 5 });
        await nextFrames(page);
        expect(await controlsOff(page)).toBe(true);
        // The next click brings them back.
        await page.mouse.click(picture.x, picture.y);
        await expect.poll(() => controlsOpacity(page)).toBe('1');
        expect(await page.locator('#controls-status').textContent()).toBe('Controls shown.');
        // So does moving onto where they lie, and any key (Shift, which does nothing else).
        await hideByClick();
        const play = await centre(page, '#play');
        await page.mouse.move(play.x, play.y, { steps: 5 });
        await expect.poll(() => controlsOpacity(page)).toBe('1');
        await page.mouse.move(picture.x, picture.y, { steps: 5 });
        await hideByClick();
        await page.keyboard.press('Shift');
        await expect.poll(() => controlsOpacity(page)).toBe('1');
        // None of it stepped the slides or paused the show.
        expect((await shown(page)).length).toBe(1);
        expect(await page.locator('#play').textContent()).toBe('Pause');
      } finally {
        await closePage(page);
      }
    });

    it('logs no error on any page', () => {
      expect(errors.flat()).toEqual([]);
    });
  },
);
