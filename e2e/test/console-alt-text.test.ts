/**
 * Missing alt text, in Chromium against the local stack. Showing an image
 * without alt text is allowed: the public slideshow then gives a screen
 * reader its title, else its position, and "(no description)" — as
 * Chromium's accessibility tree names the slide's image — never its camera
 * file name.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  NO_CHROMIUM,
  smallJpeg,
  type TestBrowser,
  waitForSlideshowEvent,
} from './console-support.ts';
import { adminJson, freshStack, upload, waitForTerminal } from './helpers.ts';

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

describe.skipIf(NO_CHROMIUM)(
  'missing alt text in the console and the slideshow (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let ids: Record<'titled' | 'bare' | 'described' | 'toDescribe', string>;

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
      browser = await launchBrowser();
    }, 300_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
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
