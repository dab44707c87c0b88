/**
 * Support for the library's browser tests (console-library-*.test.ts): a
 * fresh stack holding more than one page of 60 processed images (two of them
 * named to be searched for), and the cards of the library grid as the tests
 * read them.
 */
import type { Page } from 'playwright-core';
import { seedImages, smallJpeg } from './console-support.ts';
import { freshStack, upload, waitForTerminal } from './helpers.ts';

/** A local stack as `freshStack` gives it. */
export type Stack = Awaited<ReturnType<typeof freshStack>>;

/** More than one page of 60. */
export const SEEDED = 64;

/** How long a suite's `beforeAll` may take to seed and process the library on a loaded machine. */
export const LIBRARY_SETUP_TIMEOUT = 480_000;

/**
 * A fresh stack with {@link SEEDED} generated images and two named ones
 * ("Beach sunset.jpg", "mountain-lake.jpg"), every one processed; `all` are
 * their ids in upload order.
 */
export async function libraryStack(): Promise<{ stack: Stack; all: string[] }> {
  const stack = await freshStack();
  try {
    const seeded = await seedImages(stack, SEEDED);
    const named = await upload(stack, [
      { name: 'Beach sunset.jpg', bytes: await smallJpeg(900, 640, 480) },
      { name: 'mountain-lake.jpg', bytes: await smallJpeg(901, 400, 300) },
    ]);
    const all = [...seeded, ...named];
    await waitForTerminal(stack, all, 400_000);
    return { stack, all };
  } catch (error) {
    await stack.dispose();
    throw error;
  }
}

/** The library's cards, in the order shown. */
export const libraryCards = (page: Page) => page.locator('#grid > li');

/** The ids of the library's cards, in the order shown. */
export async function shownIds(page: Page): Promise<string[]> {
  return await libraryCards(page).evaluateAll((items) =>
    items.map((li) => (li as HTMLElement).dataset.id ?? ''),
  );
}

/** The card of image `id`. */
export const libraryCard = (page: Page, id: string) => page.locator(`#grid > li[data-id="${id}"]`);
