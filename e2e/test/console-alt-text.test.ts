/**
 * Missing alt text, in Chromium against the local stack: the console marks
 * each card without alt text with the words "No alt text" (in the card
 * button's accessible name, at 4.5:1 or more), counts them in the library's
 * summary, filters the library to them ("Missing alt text"), and marks the
 * detail's empty alt field, which explains why it matters; writing it there
 * takes the mark and the badge away. The axe-core audit passes with the
 * badges, the filter and the marked field. Showing an image without alt text
 * stays allowed: the public slideshow then gives a screen reader its title,
 * else its position, and "(no description)" — as Chromium's accessibility
 * tree names the slide's image — never its camera file name.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNoSeriousAxeViolations,
  NO_CHROMIUM,
  openConsole,
  smallJpeg,
  type TestBrowser,
  waitForSlideshowEvent,
} from './console-support.ts';
import { adminJson, freshStack, upload, waitForTerminal } from './helpers.ts';
import { cssContrast } from './wcag-contrast.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** What an admin wrote for each image (nothing: no alt text). */
const TITLED = { name: 'IMG_1234.jpg', title: 'Harbour at dawn' };
const BARE = { name: 'IMG_1235.jpg' };
const DESCRIBED = { name: 'kite.jpg', altText: 'A red kite above a green hill' };
const TO_DESCRIBE = { name: 'IMG_1236.jpg' };

/** `PATCH /api/admin/images/:id` with `body`; throws unless 200. */
async function describeImage(stack: Stack, id: string, body: Record<string, unknown>) {
  const response = await stack.admin(`/api/admin/images/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`PATCH answered ${response.status}`);
}

/** The names Chromium's accessibility tree gives the images of the page (not ignored ones). */
async function imageNames(browser: TestBrowser, page: Page): Promise<string[]> {
  const cdp = await browser.context.newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[];
    };
    return nodes
      .filter((n) => !n.ignored && n.role?.value === 'image')
      .map((n) => n.name?.value ?? '');
  } finally {
    await cdp.detach();
  }
}

/** The colour of `selector`'s text and of the first painted background behind it. */
const colours = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((node) => {
      let behind: Element | null = node;
      let background = 'rgba(0, 0, 0, 0)';
      while (behind && /rgba\(.*, 0\)$|transparent/.test(background)) {
        background = getComputedStyle(behind).backgroundColor;
        behind = behind.parentElement;
      }
      return { text: getComputedStyle(node).color, background };
    });

describe.skipIf(NO_CHROMIUM)(
  'missing alt text in the console and the slideshow (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let ids: Record<'titled' | 'bare' | 'described' | 'toDescribe', string>;
    const card = (id: string) => page.locator(`#grid li[data-id="${id}"]`);
    const summary = () => page.locator('#grid-summary').textContent();

    beforeAll(async () => {
      stack = await freshStack();
      const files = [TITLED, BARE, DESCRIBED, TO_DESCRIBE];
      const uploaded = await upload(
        stack,
        await Promise.all(files.map(async (f, i) => ({ name: f.name, bytes: await smallJpeg(i) }))),
      );
      const [titled, bare, described, toDescribe] = uploaded as [string, string, string, string];
      ids = { titled, bare, described, toDescribe };
      await waitForTerminal(stack, uploaded, 240_000);
      await describeImage(stack, titled, { title: TITLED.title });
      await describeImage(stack, described, { altText: DESCRIBED.altText });
      ({ browser, page, errors } = await openConsole(stack));
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('badges each card without alt text in words, counts them, and filters the library to them', async () => {
      await expect.poll(() => page.locator('#grid > li').count()).toBe(4);
      for (const id of [ids.titled, ids.bare, ids.toDescribe]) {
        // In the card button's accessible name: what a screen reader reads for the card.
        await expect
          .poll(() =>
            card(id)
              .getByRole('button', { name: /No alt text/ })
              .count(),
          )
          .toBe(1);
      }
      expect(await card(ids.described).getByText('No alt text').count()).toBe(0);
      await expect.poll(summary).toBe('Showing 4 images, 3 without alt text.');

      const { text, background } = await colours(page, '#grid .badge.no-alt');
      expect(cssContrast(text, background)).toBeGreaterThanOrEqual(4.5);

      await page.getByRole('combobox', { name: 'Alt text' }).selectOption('missing');
      await expect.poll(summary).toBe('Showing 3 images, 3 without alt text.');
      const shown = await page
        .locator('#grid > li')
        .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.id));
      expect(shown.sort()).toEqual([ids.titled, ids.bare, ids.toDescribe].sort());
      await expectNoSeriousAxeViolations(page, 'library filtered to images missing alt text');
      expect(errors).toEqual([]);
    });

    it('marks the detail’s empty alt field and says why it matters; writing it takes the marks away', async () => {
      await card(ids.toDescribe).locator('button.open').click();
      const field = page.locator('#detail[open]').getByRole('textbox', { name: 'Alt text' });
      await field.waitFor();
      // The mark and the reason, in the field's accessible description.
      const description = await field.evaluate((node) =>
        (node.getAttribute('aria-describedby') ?? '')
          .split(' ')
          .map((id) => document.getElementById(id)?.textContent ?? '')
          .join(' '),
      );
      expect(description).toMatch(/^No alt text What the image shows, for people who cannot/);
      expect(description).toContain('The image can be shown all the same.');
      expect(await page.locator('#describe-alt-missing').isVisible()).toBe(true);
      await expectNoSeriousAxeViolations(page, 'detail with an empty alt field');

      await field.fill('A grey pier in the morning fog');
      expect(await page.locator('#describe-alt-missing').isVisible()).toBe(false);
      await page.locator('#detail').getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => page.locator('#describe-status').textContent()).toBe('Saved.');
      await page.keyboard.press('Escape');
      await page.locator('#detail[open]').waitFor({ state: 'detached' });
      // The card stays where the admin was working, without its badge; the count follows.
      await expect.poll(() => card(ids.toDescribe).getByText('No alt text').count()).toBe(0);
      await expect.poll(summary).toBe('Showing 3 images, 2 without alt text.');
      await page.getByRole('combobox', { name: 'Alt text' }).selectOption('');
      await expect.poll(summary).toBe('Showing 4 images, 2 without alt text.');
      expect(errors).toEqual([]);
    });

    it('names a slide without alt text by its title, else its position, and "(no description)", never its file name', async () => {
      const { images } = await adminJson<{ images: { id: string }[] }>(stack, '/api/slideshow');
      expect(images).toHaveLength(4);
      const position = (id: string) => images.findIndex((i) => i.id === id) + 1;
      const slideshow = await browser.newPage();
      try {
        // Reduced motion: the show starts paused, so the slide stays while it is read.
        await slideshow.emulateMedia({ reducedMotion: 'reduce' });
        const expected: [string, string][] = [
          [ids.titled, `${TITLED.title} (no description)`],
          [ids.bare, `Image ${position(ids.bare)} of 4 (no description)`],
          [ids.described, DESCRIBED.altText],
        ];
        for (const [id, name] of expected) {
          await slideshow.goto(`${stack.backendUrl}/#slide=${id}`);
          await waitForSlideshowEvent(slideshow, { type: 'image-loaded', id });
          expect(await imageNames(browser, slideshow), id).toEqual([name]);
        }
      } finally {
        await slideshow.close();
      }
    });
  },
);
