/**
 * The public slideshow on a slow or metered link, in Chromium against the
 * local stack: on a slow link the picture on screen is fetched before its
 * neighbours and autoplay counts from its load, but a picture that never
 * answers holds it 30 s at most (on Playwright's clock); under Save-Data the show
 * starts paused and fetches about one image pixel per CSS pixel, and Save-Data
 * turned on or off while the show runs applies from the next preload and
 * slide (phone contexts: touch, 390 × 844 at 3 device pixels per CSS pixel).
 */
import { seededGrain } from '@slideshow/tools/seeded-grain';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  slideshowEvents as events,
  NO_CHROMIUM,
  type SlideEvent,
  smallJpeg,
  waitForSlideshowEvent as waitForEvent,
} from './console-support.ts';
import { freshStack, upload, waitForTerminal } from './helpers.ts';
import { launchChromium, PHONE } from './phone-browser.ts';
import { DESKTOP } from './slideshow-support.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;
/** An autoplay event (slideshow-player.js): the holds on the show when it was recorded. */
type AutoplayEvent = SlideEvent & { holds?: string[] };

/** A grainy photo (a noisy sensor): its variants are large, as a real photo's are. */
async function grainyJpeg(width: number, height: number): Promise<Buffer> {
  return await sharp(seededGrain(width, height, 40, 7), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe.skipIf(NO_CHROMIUM)(
  'the slideshow on a slow or metered link (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: Browser;
    let ids: [string, string, string];
    let grainy: string;
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
      [grainy] = (await upload(stack, [
        { name: 'grainy.jpg', bytes: await grainyJpeg(1600, 1067) },
      ])) as [string];
      await waitForTerminal(stack, [...ids, grainy], 240_000);
      browser = await launchChromium();
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('fetches the picture on screen before its neighbours on a slow link, and counts the interval from its load', async () => {
      const page = await openPage(DESKTOP);
      try {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Network.enable');
        // 400 kbit/s (50,000 bytes/s), 300 ms from each request to its answer's headers.
        await cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: 300,
          downloadThroughput: 50_000,
          uploadThroughput: 50_000,
        });
        await page.goto(`${stack.backendUrl}/#slide=${grainy}&interval=2`, { timeout: 120_000 });
        await waitForEvent(page, { type: 'image-loaded', id: grainy }, 120_000);
        await waitForEvent(page, { type: 'shown', cause: 'autoplay' }, 120_000);
        const all = await events(page);
        const loaded = all.findIndex((e) => e.type === 'image-loaded' && e.id === grainy);
        const autoplay = all.findIndex((e) => e.type === 'shown' && e.cause === 'autoplay');
        expect(loaded, JSON.stringify(all)).toBeLessThan(autoplay);
        // No other picture was asked for before this one had loaded (the page's own clock).
        const loadedAt = all[loaded]?.t ?? 0;
        const before = await page.evaluate(
          ({ grainy, loadedAt }) =>
            performance
              .getEntriesByType('resource')
              .filter((r) => r.name.includes('/media/') && !r.name.includes(`/${grainy}/`))
              .filter((r) => r.startTime < loadedAt)
              .map((r) => r.name),
          { grainy, loadedAt },
        );
        expect(before).toEqual([]);
      } finally {
        await closePage(page);
      }
    }, 300_000);

    it('starts paused under Save-Data, fetches about one image pixel per CSS pixel and preloads only the next slide', async () => {
      const page = await openPage(PHONE);
      try {
        await page.addInitScript(() => {
          const connection = (navigator as unknown as { connection?: object }).connection;
          if (connection === undefined)
            throw new Error('no navigator.connection to set saveData on');
          Object.defineProperty(Object.getPrototypeOf(connection), 'saveData', { get: () => true });
        });
        await page.goto(`${stack.backendUrl}/#slide=${ids[1]}&interval=2`);
        await waitForEvent(page, { type: 'image-loaded', id: ids[1] });
        await waitForEvent(page, { type: 'preload' });
        const all = await events(page);
        // 390 CSS pixels wide: the 640 px variant, not the 1280 px one of 3 pixels each.
        expect(all.find((e) => e.type === 'image-loaded')?.currentSrc).toMatch(/\/w640\.\w+$/);
        expect(await page.locator('#play').textContent()).toBe('Play');
        const preloads = all.filter((e) => e.type === 'preload') as { held?: number }[];
        expect(preloads.map((e) => e.held)).toEqual([1]);
      } finally {
        await closePage(page);
      }
    });

    it('lets autoplay go on 30 s after a picture that neither loads nor fails was shown (the page’s clock)', async () => {
      const page = await openPage(DESKTOP);
      try {
        // Every picture stalls: its request is held and never answered (a dead connection).
        await page.route(/\/media\//, () => {});
        // The page's timers and clocks are Playwright's, moved on below by hand.
        await page.clock.install();
        await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=60`);
        await waitForEvent(page, { type: 'shown', id: ids[0] });
        const autoplay = async () =>
          (await events(page)).filter((e) => e.type === 'autoplay') as AutoplayEvent[];
        const autoplaySteps = async () =>
          (await events(page)).filter((e) => e.type === 'shown' && e.cause === 'autoplay');
        expect((await autoplay()).at(-1)?.holds).toEqual(['loading']);
        // 25 s on: the picture still holds the countdown.
        await page.clock.runFor(25_000);
        expect((await autoplay()).at(-1)?.holds).toEqual(['loading']);
        // 35 s on: the cap (30 s) has let go of it; the 60 s interval counts from there.
        await page.clock.runFor(10_000);
        expect((await autoplay()).at(-1)).toMatchObject({
          reason: 'loading',
          playing: true,
          holds: [],
        });
        expect(await autoplaySteps()).toEqual([]);
        await page.clock.runFor(60_000);
        expect(await autoplaySteps()).toHaveLength(1);
        // The picture never loaded nor failed: it was the cap.
        const settled = (await events(page)).filter((e) => /^image-(loaded|error)$/.test(e.type));
        expect(settled).toEqual([]);
      } finally {
        await closePage(page);
      }
    });

    it('applies Save-Data turned on and off while the show runs, from the next preload and slide, and pauses nothing', async () => {
      const page = await openPage(PHONE);
      try {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Network.enable');
        // Chromium fires the connection's `change` event when saveData changes, but the
        // DevTools override of saveData fires none: a change of the emulated round trip
        // fires it (the Network Information API's event, which the page reads as it comes).
        // Resolves once the page has handled the event.
        const setSaveData = async (on: boolean) => {
          await page.evaluate(() => {
            const target = window as unknown as { changed: Promise<void> };
            const connection = (navigator as unknown as { connection: EventTarget }).connection;
            // Added after the page's own listener, so it runs after it.
            target.changed = new Promise((resolve) =>
              connection.addEventListener('change', () => resolve(), { once: true }),
            );
          });
          await cdp.send('Emulation.setDataSaverOverride', { dataSaverEnabled: on });
          await cdp.send('Network.emulateNetworkConditions', {
            offline: false,
            latency: on ? 100 : 0,
            downloadThroughput: -1,
            uploadThroughput: -1,
          });
          await page.evaluate(() => (window as unknown as { changed: Promise<void> }).changed);
        };
        /** The variant of the newest slide loaded. */
        const lastLoaded = async () =>
          (await events(page)).filter((e) => e.type === 'image-loaded').at(-1)?.currentSrc;
        /** How many slides each preload since the `from`th event fetched. */
        const preloadsSince = async (from: number) =>
          ((await events(page)) as (SlideEvent & { held?: number })[])
            .slice(from)
            .filter((e) => e.type === 'preload')
            .map((e) => e.held);
        const step = async (loads: number) => {
          await page.keyboard.press('ArrowRight');
          await page.waitForFunction(
            (n) =>
              (window as unknown as { slideshowEvents: SlideEvent[] }).slideshowEvents.filter(
                (e) => e.type === 'image-loaded',
              ).length >= n,
            loads,
            { timeout: 30_000 },
          );
        };
        await page.goto(`${stack.backendUrl}/#slide=${ids[0]}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: ids[0] });
        await waitForEvent(page, { type: 'preload' });
        // 390 CSS pixels at 3 device pixels each: the 1280 px variant.
        expect(await lastLoaded()).toMatch(/\/w1280\.\w+$/);
        const before = (await events(page)).length;
        await setSaveData(true);
        // Only the next slide is fetched again, for about one image pixel per CSS pixel…
        expect(await preloadsSince(before)).toEqual([1]);
        // (the next slide, fetched ahead before the change, came in at 1280 px all the same,
        // Chromium taking the denser candidate it had), and the slide after it at 640 px.
        await step(2);
        await step(3);
        expect(await lastLoaded()).toMatch(/\/w640\.\w+$/);
        // …and the show, playing, goes on playing (a paused start is only at start).
        expect(await page.locator('#play').textContent()).toBe('Pause');
        const beforeOff = (await events(page)).length;
        await setSaveData(false);
        expect(await preloadsSince(beforeOff)).toEqual([2]);
        await step(4);
        expect(await lastLoaded()).toMatch(/\/w1280\.\w+$/);
      } finally {
        await closePage(page);
      }
    });

    it('logs no error on any page', () => {
      expect(errors.flat()).toEqual([]);
    });
  },
);
