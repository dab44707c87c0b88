/**
 * The slideshow and its curation in Chromium against the local stack: alt
 * text, title and caption edited in the admin appear on the slide (as text);
 * hiding and reordering (by dragging and by keyboard) change what the
 * slideshow plays and in which order; autoplay advances, pauses, and stays
 * off under prefers-reduced-motion; deep links, full screen, swipe; the
 * axe-core audit and a 390 px phone; a slide that failed while offline comes
 * back online; a portrait is fetched at the width it is shown.
 */
import { makeSampleImages } from '@slideshow/tools/sample-images';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  slideshowEvents as events,
  expectNoSeriousAxeViolations,
  launchBrowser,
  login,
  NO_CHROMIUM,
  screenshot,
  smallJpeg,
  type TestBrowser,
  waitForSlideshowEvent as waitForEvent,
} from './console-support.ts';
import { adminJson, freshStack, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** Waits until `ms` have passed on the page's clock after its event `since` (a bounded wait, no assertion on time). */
async function letTimePass(page: Page, since: number, ms: number) {
  await page.waitForFunction(
    ({ since, ms }) => performance.now() > since + ms,
    { since, ms },
    {
      timeout: ms + 30_000,
    },
  );
}

/** Waits (bounded) until autoplay shows one more slide than it had. */
async function nextSlideByItself(page: Page) {
  const shown = (await events(page)).filter((e) => e.cause === 'autoplay').length;
  await page.waitForFunction(
    (before) =>
      (window as unknown as { slideshowEvents: { cause?: string }[] }).slideshowEvents.filter(
        (e) => e.cause === 'autoplay',
      ).length > before,
    shown,
    { timeout: 30_000 },
  );
}

describe.skipIf(NO_CHROMIUM)(
  'the slideshow in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let admin: Page;
    let errors: string[];
    let ids: string[];

    beforeAll(async () => {
      stack = await freshStack();
      // Three photo-like stills and an animated GIF.
      ids = await upload(stack, await makeSampleImages(3));
      await waitForTerminal(stack, ids, 240_000);
      browser = await launchBrowser();
      admin = await browser.newPage();
      errors = collectPageErrors(admin);
      await login(admin, stack);
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('shows the alt text, title and caption written in the admin, as text', async () => {
      const id = ids[0]!;
      await admin.goto(`${stack.backendUrl}/admin#image=${id}`);
      await admin.locator('#detail[open]').waitFor();
      const title = '<b>Kite</b> & "friends"';
      await admin.getByLabel('Title', { exact: true }).fill(title);
      await admin.getByLabel('Caption').fill('Over the hill\nat dusk');
      await admin.locator('#detail').getByLabel('Alt text').fill('A red kite above a green hill');
      await admin.getByRole('button', { name: 'Save' }).click();
      await expect
        .poll(async () => await admin.locator('#describe-status').textContent())
        .toBe('Saved.');
      await admin.keyboard.press('Escape');
      // Closing clears the link (its close event runs after Escape): wait for it.
      await expect.poll(() => new URL(admin.url()).hash).toBe('');

      const page = await browser.newPage();
      try {
        await page.goto(`${stack.backendUrl}/#slide=${id}&interval=60`);
        await waitForEvent(page, { type: 'image-loaded', id });
        expect(await page.locator('#slide picture img').getAttribute('alt')).toBe(
          'A red kite above a green hill',
        );
        const caption = page.locator('#caption');
        expect(await caption.locator('strong').textContent()).toBe(title);
        expect(await caption.locator('b').count()).toBe(0);
        expect(await caption.locator('span').textContent()).toBe('Over the hill\nat dusk');
        await screenshot(page, 'console-slideshow');
        // Captions can be hidden (C or the button), and the choice is kept.
        await page.keyboard.press('c');
        expect(await caption.isVisible()).toBe(false);
        await page.getByRole('button', { name: 'Captions' }).click();
        expect(await caption.isVisible()).toBe(true);
      } finally {
        await page.close();
      }
    });

    it('keeps what the admin is typing when the same image is opened again (the deep link handled twice)', async () => {
      const id = ids[1]!;
      await admin.goto(`${stack.backendUrl}/admin#image=${id}`);
      await admin.locator('#detail[open]').waitFor();
      await admin.locator('#detail').getByLabel('Alt text').fill('Typed before the second open');
      // What happens when the console finishes loading after the deep link opened the
      // dialog: the same #image= is handled again. It must not replace the form.
      const reloaded = Promise.all([
        admin.waitForResponse((r) => r.url().endsWith(`/api/images/${id}`)),
        admin.waitForResponse((r) => r.url().endsWith(`/api/admin/images/${id}/timeline`)),
      ]);
      await admin.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
      await reloaded;
      // Both answers are read; let the page act on them (two frames) before saving.
      await admin.evaluate(
        () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
      );
      await admin.getByRole('button', { name: 'Save' }).click();
      await expect
        .poll(async () => await admin.locator('#describe-status').textContent())
        .toBe('Saved.');
      await admin.keyboard.press('Escape');
      // Closing clears the link (its close event runs after Escape): wait for it.
      await expect.poll(() => new URL(admin.url()).hash).toBe('');
      const slides = (await (await fetch(`${stack.backendUrl}/api/slideshow`)).json()) as {
        images: { id: string; alt: string }[];
      };
      expect(slides.images.find((i) => i.id === id)?.alt).toBe('Typed before the second open');
    });

    it('plays only shown images, in the order set by dragging and from the keyboard', async () => {
      await admin.goto(`${stack.backendUrl}/admin`);
      const order = admin.locator('#order > li');
      await expect.poll(async () => await order.count(), { timeout: 30_000 }).toBe(4);
      const current = async () =>
        await order.evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.id ?? ''));
      const [p0, p1, p2, p3] = (await current()) as [string, string, string, string];
      const item = (id: string) => admin.locator(`#order > li[data-id="${id}"]`);

      await item(p2)
        .getByRole('button', { name: /^Hide / })
        .click();
      await expect.poll(current).toEqual([p0, p1, p3]);
      // Drag the last onto the top half of the first: it goes before it.
      await item(p3).dragTo(item(p0), { targetPosition: { x: 40, y: 4 } });
      await expect.poll(current).toEqual([p3, p0, p1]);
      // Keyboard: focus an item, Alt+ArrowUp.
      await item(p1).focus();
      await admin.keyboard.press('Alt+ArrowUp');
      await expect.poll(current).toEqual([p3, p1, p0]);
      expect(await admin.evaluate(() => document.activeElement?.getAttribute('data-id'))).toBe(p1);
      // A move re-renders only the items it moved: every item still names its own position,
      // and only the first item's Move up and the last's Move down are off.
      expect(
        await order.evaluateAll((items) =>
          items.map((li) => [
            (li.querySelector('input.position') as HTMLInputElement).value,
            li.getAttribute('aria-label')?.replace(/^.*, /, ''),
            (li.querySelector('[data-focus^="up:"]') as HTMLButtonElement).disabled,
            (li.querySelector('[data-focus^="down:"]') as HTMLButtonElement).disabled,
          ]),
        ),
      ).toEqual([
        ['1', 'position 1 of 3', true, false],
        ['2', 'position 2 of 3', false, false],
        ['3', 'position 3 of 3', false, true],
      ]);
      await expect
        .poll(async () => await admin.locator('#announcer').textContent())
        .toMatch(/moved to position 2 of 3\. Saved\./);
      const saved = async () => {
        const body = (await (await stack.admin('/api/admin/slideshow')).json()) as {
          images: { id: string }[];
        };
        return body.images.map((i) => i.id);
      };
      await expect.poll(saved).toEqual([p3, p1, p0]);

      const page = await browser.newPage();
      try {
        await page.goto(`${stack.backendUrl}/#interval=60`);
        await waitForEvent(page, { type: 'shown', id: p3 });
        // The next slide is fetched before it is shown.
        await waitForEvent(page, { type: 'preload', id: p1 });
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowRight');
        await waitForEvent(page, { type: 'shown', id: p0 });
        const shown = (await events(page)).filter((e) => e.type === 'shown').map((e) => e.id);
        expect(shown).toEqual([p3, p1, p0, p3]);
        expect(await page.locator('#counter').textContent()).toBe('1 / 3');
      } finally {
        await page.close();
      }
    });

    it('advances by itself, pauses with K, and holds while the keyboard or the pointer is on its controls', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${stack.backendUrl}/#interval=2`);
        await waitForEvent(page, { type: 'shown', cause: 'autoplay' });
        expect(await page.getByRole('button', { name: 'Pause slideshow' }).isVisible()).toBe(true);
        await page.keyboard.press('k');
        await waitForEvent(page, { type: 'autoplay', wanted: false });
        expect(await page.getByRole('button', { name: 'Play slideshow' }).isVisible()).toBe(true);
        const paused = (await events(page)).filter((e) => e.type === 'autoplay').at(-1)!.t!;
        const before = (await events(page)).filter((e) => e.cause === 'autoplay').length;
        await letTimePass(page, paused, 5_000);
        expect((await events(page)).filter((e) => e.cause === 'autoplay').length).toBe(before);
        // Play again (K in either case); the keyboard in the controls holds it, and so does the pointer.
        await page.keyboard.press('Shift+K');
        await page.getByRole('button', { name: 'Next image' }).focus();
        await waitForEvent(page, { type: 'autoplay', reason: 'focus' });
        // The newest autoplay event: an image-loaded event of a slide shown just before may follow it.
        const autoplay = async () =>
          (await events(page)).filter((e) => e.type === 'autoplay').at(-1);
        expect(await autoplay()).toMatchObject({ playing: false, wanted: true });
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await waitForEvent(page, { type: 'autoplay', reason: 'focus', playing: true });
        // A mouse resting over the slide (the image fills the window) does not hold it.
        await page.mouse.move(600, 300);
        await nextSlideByItself(page);
        // Over the controls it does, and the page says so.
        await page.getByRole('button', { name: 'Next image' }).hover();
        await waitForEvent(page, { type: 'autoplay', reason: 'hover' });
        expect(await autoplay()).toMatchObject({ type: 'autoplay', playing: false, wanted: true });
        const held = page.locator('#held');
        expect(await held.textContent()).toBe('Waits while you use the controls');
        expect(await held.isVisible()).toBe(true);
        // Pause, then Play with the pointer still on it: Play wins over the hold.
        await page.getByRole('button', { name: 'Pause slideshow' }).click();
        await expect.poll(async () => (await autoplay())?.wanted).toBe(false);
        expect(await held.isVisible()).toBe(false);
        await page.getByRole('button', { name: 'Play slideshow' }).click();
        await expect.poll(autoplay).toMatchObject({ playing: true, wanted: true });
        expect(await held.isVisible()).toBe(false);
        await nextSlideByItself(page);
      } finally {
        await page.close();
      }
    });

    it('starts paused under prefers-reduced-motion, until the viewer presses Play', async () => {
      const page = await browser.newPage();
      try {
        await page.emulateMedia({ reducedMotion: 'reduce' });
        await page.goto(`${stack.backendUrl}/#interval=2`);
        await waitForEvent(page, { type: 'autoplay', reason: 'reduced-motion', wanted: false });
        expect(await page.getByRole('button', { name: 'Play slideshow' }).isVisible()).toBe(true);
        const loaded = (await events(page)).find((e) => e.type === 'loaded-list')!;
        expect(loaded.reducedMotion).toBe(true);
        await letTimePass(page, loaded.t ?? 0, 5_000);
        expect((await events(page)).filter((e) => e.cause === 'autoplay')).toEqual([]);
        expect(await page.locator('#counter').textContent()).toBe('1 / 3');
        await page.keyboard.press('k');
        await waitForEvent(page, { type: 'shown', cause: 'autoplay' });
      } finally {
        await page.close();
      }
    });

    it('goes full screen, swipes, and passes the axe-core audit on a desktop and a phone', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${stack.backendUrl}/#interval=60`);
        await waitForEvent(page, { type: 'image-loaded' });
        await expectNoSeriousAxeViolations(page, 'slideshow');
        await page.keyboard.press('f');
        await page.waitForFunction(() => document.fullscreenElement !== null, undefined, {
          timeout: 10_000,
        });
        await page.keyboard.press('f');
        await page.waitForFunction(() => document.fullscreenElement === null, undefined, {
          timeout: 10_000,
        });
        await page.mouse.move(900, 400);
        await page.mouse.down();
        await page.mouse.move(300, 400, { steps: 5 });
        await page.mouse.up();
        await expect.poll(async () => await page.locator('#counter').textContent()).toBe('2 / 3');
        await page.setViewportSize({ width: 390, height: 844 });
        expect(
          await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
        ).toBeLessThanOrEqual(0);
        await expectNoSeriousAxeViolations(page, 'slideshow on a phone');
      } finally {
        await page.close();
      }
      expect(errors).toEqual([]);
    });

    it('shows a slide whose image failed during an outage again when the browser is back online', async () => {
      // An image this browser has never fetched (the tests above cached the others).
      const [fresh] = (await upload(stack, [
        { name: 'outage.jpg', bytes: await smallJpeg(5, 960, 640) },
      ])) as [string];
      await waitForTerminal(stack, [fresh], 240_000);
      // The slideshow starts at a placed image, not at the fresh one (newest, so first when
      // nothing is placed): this test does not lean on the order the tests above left.
      const { images: shown } = await adminJson<{ images: { id: string }[] }>(
        stack,
        '/api/admin/slideshow',
      );
      const placed = await stack.admin('/api/admin/slideshow/order', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: shown.map((i) => i.id).filter((id) => id !== fresh) }),
      });
      expect(placed.status, await placed.text()).toBe(200);
      const page = await browser.newPage();
      // Not even preloaded as a neighbour before the outage.
      const freshVariants = (url: URL) => url.pathname.includes(`/${fresh}/`);
      await page.route(freshVariants, (route) => route.abort());
      try {
        await page.goto(`${stack.backendUrl}/#interval=60`);
        await waitForEvent(page, { type: 'image-loaded' });
        await browser.context.setOffline(true);
        await page.unroute(freshVariants);
        await page.evaluate((id) => {
          location.hash = `slide=${id}`;
        }, fresh);
        await waitForEvent(page, { type: 'image-error', id: fresh });
        await waitForEvent(page, { type: 'refresh-error', cause: 'image-error' });
        await browser.context.setOffline(false);
        await waitForEvent(page, { type: 'image-loaded', id: fresh });
        expect(await page.locator('#slide picture img').getAttribute('class')).toBe('loaded');
      } finally {
        await browser.context.setOffline(false);
        await page.close();
      }
    }, 300_000);

    it("fetches a portrait at the width it is shown, not at the window's width", async () => {
      // Uploaded last: the tests above count three slides.
      const [portrait, landscape] = (await upload(stack, [
        { name: 'portrait.jpg', bytes: await smallJpeg(7, 2400, 3600) },
        { name: 'landscape.jpg', bytes: await smallJpeg(8, 2400, 1600) },
      ])) as [string, string];
      await waitForTerminal(stack, [portrait, landscape], 240_000);
      // 1920×1080 at DPR 1: the portrait is shown 720 px wide (1080 × 2/3), so the 1280 px
      // variant suffices; the landscape one fills the width and takes the 1920 px variant.
      const cases = [
        [portrait, 'w1280.avif'],
        [landscape, 'w1920.avif'],
      ] as const;
      for (const [id, variant] of cases) {
        const page = await browser.newPage();
        try {
          await page.setViewportSize({ width: 1920, height: 1080 });
          await page.goto(`${stack.backendUrl}/#slide=${id}&interval=60`);
          await waitForEvent(page, { type: 'image-loaded', id });
          const loaded = (await events(page)).find((e) => e.type === 'image-loaded' && e.id === id);
          expect(loaded?.currentSrc, id).toMatch(new RegExp(`/${variant}$`));
        } finally {
          await page.close();
        }
      }
    }, 300_000);
  },
);
