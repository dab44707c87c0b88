/**
 * What the slideshow's browser tests share (slideshow-touch.test.ts,
 * slideshow-network.test.ts): a desktop's context and where an element lies (the
 * phone's is phone-browser.ts's).
 */
import type { BrowserContextOptions, Page } from 'playwright-core';

/** A desktop window with a mouse: 1280 × 900 CSS pixels. */
export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } };

/** The centre of `selector`'s box, in CSS pixels of the layout viewport. */
export async function centre(page: Page, selector: string): Promise<{ x: number; y: number }> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not shown`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}
