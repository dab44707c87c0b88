/**
 * The one way the browser tests hold a phone: Debian's Chromium launched
 * headless without background traffic, and a context emulating a phone held
 * upright (Chromium's mobile emulation: touch, the meta viewport, 3 device
 * pixels per CSS pixel). Used by browser.test.ts, console-touch.test.ts,
 * slideshow-touch.test.ts and slideshow-network.test.ts.
 */
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { CHROMIUM } from './console-support.ts';

/** A phone held upright: touch, 390 × 844 CSS pixels at 3 device pixels each (an iPhone 12–15). */
export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
} as const satisfies BrowserContextOptions;

/** Launches headless Chromium for contexts of their own (such as {@link PHONE}); `close()` ends it. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/** A page in a fresh {@link PHONE} context of `browser`; closing its context closes both. */
export async function openPhonePage(browser: Browser): Promise<Page> {
  const context = await browser.newContext(PHONE);
  return await context.newPage();
}
