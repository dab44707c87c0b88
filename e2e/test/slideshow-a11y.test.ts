/**
 * The public slideshow against WCAG 2.2, in Chromium against the local stack:
 * an animated image stands still (its poster) under prefers-reduced-motion
 * and while the show is paused (2.2.2); a caption as long as the form allows
 * never runs under the controls or off the screen, on a phone and at 200 %
 * zoom, and scrolls from the keyboard (1.4.10 Reflow, 1.4.4); the controls'
 * text keeps 4.5:1 over a white picture (1.4.3); the letter keys act only
 * with the focus on the slideshow or its buttons, and the seconds selector
 * keeps its own keys (2.1.4 Character Key Shortcuts); the admin's texts in
 * a right-to-left language read right to left (dir=auto).
 */
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  slideshowEvents as events,
  expectNoSeriousAxeViolations,
  launchBrowser,
  NO_CHROMIUM,
  nextFrames,
  type TestBrowser,
  waitForSlideshowEvent as waitForEvent,
} from './console-support.ts';
import { adminJson, freshStack, upload, waitForTerminal } from './helpers.ts';
import { contrastRatio, cssChannels, luminance } from './wcag-contrast.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** An animated GIF of `frames` flat colours, each shown for 200 ms, looping for ever. */
async function animatedGif(frames = 4, width = 320, height = 240): Promise<Buffer> {
  const strip = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f += 1) {
    strip.fill(f * 60 + 20, f * width * height * 3, (f + 1) * width * height * 3);
  }
  return await sharp(strip, {
    raw: { width, height: height * frames, channels: 3, pageHeight: height },
  })
    .gif({ delay: Array(frames).fill(200), loop: 0 })
    .toBuffer();
}

/** A caption of 1,990 characters in lines (the form allows 2,000). */
const LONG_CAPTION = Array.from(
  { length: 30 },
  (_, i) => `Line ${String(i + 1).padStart(2, '0')}: ${'a quiet wall in the sun '.repeat(2)}`,
)
  .join('\n')
  .slice(0, 1990);

/** A title, caption and alt text in Hebrew and Arabic, written right to left. */
const RTL = { title: 'קיר לבן', caption: 'جدار أبيض في الشمس', alt: 'תמונה מונפשת' };

/** Emulates a window of `width` × `height` CSS pixels at `scale` device pixels per CSS pixel. */
async function emulateWindow(browser: TestBrowser, page: Page, [width, height, scale]: Window) {
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Emulation.setDeviceMetricsOverride', {
    width,
    height,
    deviceScaleFactor: scale,
    mobile: false,
  });
}

/** A window: width and height in CSS pixels, device pixels per CSS pixel. */
type Window = [number, number, number];

/**
 * The contrast of the text of `selector` against the brightest pixel behind
 * it: the element is shot with its text (and shadow) made transparent, so
 * only what lies behind the letters is measured.
 */
async function textContrast(page: Page, selector: string): Promise<number> {
  const element = page.locator(selector);
  const color = await element.evaluate((el) => {
    const text = getComputedStyle(el).color;
    (el as HTMLElement).style.color = 'transparent';
    (el as HTMLElement).style.textShadow = 'none';
    return text;
  });
  const box = await element.boundingBox();
  if (!box) throw new Error(`${selector} is not shown`);
  const shot = await page.screenshot({ clip: box });
  await element.evaluate((el) => {
    (el as HTMLElement).style.color = '';
    (el as HTMLElement).style.textShadow = '';
  });
  const { data, info } = await sharp(shot)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let brightest = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    brightest = Math.max(brightest, luminance([data[i]!, data[i + 1]!, data[i + 2]!]));
  }
  return contrastRatio(luminance(cssChannels(color)), brightest);
}

/** The `src` the slide's <img> shows now. */
const currentSrc = (page: Page) =>
  page.locator('#slide picture img').evaluate((img) => (img as HTMLImageElement).currentSrc);

/** The width and height the slide's <img> is shown at, in CSS pixels. */
const shownSize = (page: Page) =>
  page.locator('#slide picture img').evaluate((img) => {
    const box = img.getBoundingClientRect();
    return [Math.round(box.width), Math.round(box.height)];
  });

describe.skipIf(NO_CHROMIUM)(
  'the slideshow meets WCAG 2.2 (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let white: string;
    let animated: string;
    const errors: string[][] = [];

    /** A page of the shared browser; its errors are checked at the end. */
    const openPage = async () => {
      const page = await browser.newPage();
      errors.push(collectPageErrors(page));
      return page;
    };

    beforeAll(async () => {
      stack = await freshStack();
      const whiteJpeg = await sharp({
        create: { width: 960, height: 640, channels: 3, background: '#ffffff' },
      })
        .jpeg()
        .toBuffer();
      [white, animated] = (await upload(stack, [
        { name: 'white.jpg', bytes: whiteJpeg },
        { name: 'animated.gif', bytes: await animatedGif() },
      ])) as [string, string];
      await waitForTerminal(stack, [white, animated], 240_000);
      await stack.admin(`/api/admin/images/${white}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'A white wall', caption: LONG_CAPTION }),
      });
      await stack.admin(`/api/admin/images/${animated}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: RTL.title, caption: RTL.caption, altText: RTL.alt }),
      });
      const { images } = await adminJson<{ images: { id: string; caption: string }[] }>(
        stack,
        '/api/admin/slideshow',
      );
      expect(images.map((i) => i.id).sort()).toEqual([white, animated].sort());
      browser = await launchBrowser();
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('shows an animated image as its still poster while paused and under reduced motion, animated while playing', async () => {
      const page = await openPage();
      try {
        await page.goto(`${stack.backendUrl}/#slide=${animated}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: animated });
        // Playing: the animation (an animated WebP variant).
        expect(await currentSrc(page)).toMatch(/\/w\d+\.webp$/);
        const moving = await shownSize(page);
        await page.getByRole('button', { name: 'Pause slideshow' }).click();
        await expect.poll(() => currentSrc(page)).toMatch(/\/poster\.w\d+\.jpg$/);
        // The poster takes the animation's place at the same size.
        await expect.poll(() => shownSize(page)).toEqual(moving);
        await page.getByRole('button', { name: 'Play slideshow' }).click();
        await expect.poll(() => currentSrc(page)).toMatch(/\/w\d+\.webp$/);
        // Paused, the next slide and back: still the poster.
        await page.getByRole('button', { name: 'Pause slideshow' }).click();
        await page.getByRole('button', { name: 'Next image' }).click();
        await page.getByRole('button', { name: 'Previous image' }).click();
        await expect.poll(() => currentSrc(page)).toMatch(/\/poster\.w\d+\.jpg$/);
      } finally {
        await page.close();
      }
      const still = await openPage();
      try {
        await still.emulateMedia({ reducedMotion: 'reduce' });
        await still.goto(`${stack.backendUrl}/#slide=${animated}&interval=60`);
        await waitForEvent(still, { type: 'image-loaded', id: animated });
        const loaded = (await events(still)).find((e) => e.type === 'image-loaded');
        expect(loaded?.currentSrc).toMatch(/\/poster\.w\d+\.jpg$/);
      } finally {
        await still.close();
      }
    });

    it('keeps a long caption between the top and the controls, scrollable from the keyboard, on a phone and at 200 % zoom', async () => {
      // A 390 px phone; 1280 × 900 at 200 % zoom; a phone held sideways with its keyboard open.
      const windows: Window[] = [
        [390, 844, 3],
        [640, 450, 2],
        [320, 256, 1],
      ];
      for (const window of windows) {
        const page = await openPage();
        try {
          await emulateWindow(browser, page, window);
          await page.goto(`${stack.backendUrl}/#slide=${white}&interval=60`);
          await waitForEvent(page, { type: 'image-loaded', id: white });
          await nextFrames(page);
          expect(await page.evaluate(() => [innerWidth, innerHeight, devicePixelRatio])).toEqual(
            window,
          );
          const box = await page.evaluate(() => {
            const caption = document.getElementById('caption')?.getBoundingClientRect();
            const controls = document.getElementById('controls')?.getBoundingClientRect();
            return { top: caption?.top, bottom: caption?.bottom, controls: controls?.top };
          });
          const what = `${window.join(' × ')}: ${JSON.stringify(box)}`;
          expect(box.top, what).toBeGreaterThanOrEqual(0);
          expect(box.bottom, what).toBeLessThanOrEqual(box.controls ?? 0);
          // The rest of the caption is reached from the keyboard: Tab to it, then scroll.
          const caption = page.locator('#caption');
          expect(await caption.getAttribute('tabindex'), what).toBe('0');
          await caption.focus();
          await page.keyboard.press('PageDown');
          await expect
            .poll(() => caption.evaluate((el) => el.scrollTop), { message: what })
            .toBeGreaterThan(0);
          await page.keyboard.press('End');
          await expect
            .poll(() => caption.evaluate((el) => el.scrollTop + el.clientHeight - el.scrollHeight))
            .toBeGreaterThanOrEqual(-1);
          // Scrolling the caption is not stepping the slides.
          expect((await events(page)).filter((e) => e.type === 'shown').length, what).toBe(1);
          if (window[0] === 390) await expectNoSeriousAxeViolations(page, 'a long caption');
        } finally {
          await page.close();
        }
      }
    });

    it("keeps the controls' text at 4.5:1 or more over a white picture", async () => {
      const page = await openPage();
      try {
        // No transitions: the picture is fully shown once loaded.
        await page.emulateMedia({ reducedMotion: 'reduce' });
        await page.goto(`${stack.backendUrl}/#slide=${white}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id: white });
        await nextFrames(page);
        for (const selector of ['label.interval', '#counter']) {
          expect(await textContrast(page, selector), selector).toBeGreaterThanOrEqual(4.5);
        }
      } finally {
        await page.close();
      }
    });

    it('lets the seconds selector keep its keys, and acts on letters only with the focus on the slideshow', async () => {
      const page = await openPage();
      try {
        await page.goto(`${stack.backendUrl}/#slide=${white}&interval=5`);
        await waitForEvent(page, { type: 'image-loaded', id: white });
        // The focus starts on the slideshow, where the letters act.
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('stage');
        const userToggles = async () =>
          (await events(page)).filter((e) => e.type === 'autoplay' && e.reason === 'user').length;
        const captionsOn = () => page.locator('#captions').getAttribute('aria-pressed');
        const select = page.getByLabel('Seconds per slide');
        await select.focus();
        await page.keyboard.press('End');
        expect(await select.inputValue()).toBe('15');
        await page.keyboard.press('Home');
        expect(await select.inputValue()).toBe('3');
        await page.keyboard.press('ArrowDown');
        expect(await select.inputValue()).toBe('5');
        for (const key of ['k', 'c', 'f', 'PageDown']) await page.keyboard.press(key);
        await nextFrames(page);
        expect((await events(page)).filter((e) => e.type === 'shown').length).toBe(1);
        expect(await userToggles()).toBe(0);
        expect(await captionsOn()).toBe('true');
        // Nothing focused (the page at large): no letter acts.
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        for (const key of ['k', 'c', 'f']) await page.keyboard.press(key);
        await nextFrames(page);
        expect(await userToggles()).toBe(0);
        expect(await captionsOn()).toBe('true');
        expect(await page.evaluate(() => document.fullscreenElement)).toBeNull();
        // A click on the slide (beside the caption) gives the slideshow the focus back:
        // K and C act again.
        await page.locator('#slide').click({ position: { x: 20, y: 20 } });
        await page.keyboard.press('k');
        await page.keyboard.press('c');
        await expect.poll(userToggles).toBe(1);
        expect(await captionsOn()).toBe('false');
        // And on its buttons.
        await page.getByRole('button', { name: 'Captions' }).focus();
        await page.keyboard.press('c');
        expect(await captionsOn()).toBe('true');
      } finally {
        await page.close();
      }
    });

    it('holds autoplay while a caption has the focus, and keeps the letters once C hides that caption', async () => {
      const page = await openPage();
      try {
        await page.goto(`${stack.backendUrl}/#slide=${white}&interval=3`);
        await waitForEvent(page, { type: 'image-loaded', id: white });
        const autoplayShown = async () =>
          (await events(page)).filter((e) => e.type === 'shown' && e.cause === 'autoplay').length;
        const captionsOn = () => page.locator('#captions').getAttribute('aria-pressed');
        // The viewer tabs to the long caption to read it: autoplay waits, and says why.
        await page.locator('#caption').focus();
        const held = page.locator('#held');
        await expect.poll(() => held.isVisible()).toBe(true);
        expect(await held.textContent()).toBe('Waits while you read the caption');
        const before = await autoplayShown();
        const since = await page.evaluate(() => performance.now());
        // Longer than the 3 s interval.
        await page.waitForFunction((t) => performance.now() > t + 4_500, since, {
          timeout: 40_000,
        });
        expect(await autoplayShown()).toBe(before);
        // C hides the focused caption: the focus goes to the stage, where C brings it back.
        await page.keyboard.press('c');
        await expect.poll(captionsOn).toBe('false');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('stage');
        await page.keyboard.press('c');
        await expect.poll(captionsOn).toBe('true');
        // With the focus off the caption, autoplay goes on.
        await expect.poll(autoplayShown, { timeout: 30_000 }).toBeGreaterThan(before);
      } finally {
        await page.close();
      }
    });

    it("sets the admin's title and caption each in its own direction (dir=auto)", async () => {
      const page = await openPage();
      try {
        for (const [id, direction] of [
          [animated, 'rtl'],
          [white, 'ltr'],
        ] as const) {
          await page.goto(`${stack.backendUrl}/#slide=${id}&interval=60`);
          await waitForEvent(page, { type: 'shown', id });
          const directions = await page.evaluate(() =>
            ['#caption strong', '#caption span'].map(
              (selector) => getComputedStyle(document.querySelector(selector) as Element).direction,
            ),
          );
          expect(directions, id).toEqual([direction, direction]);
        }
      } finally {
        await page.close();
      }
    });

    it('logs no error on any page', () => {
      expect(errors.flat()).toEqual([]);
    });
  },
);
