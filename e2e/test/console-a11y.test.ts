/**
 * Accessibility details of the admin console in Chromium against the local
 * stack: each section link moves the focus to its section's heading; the
 * library's summary is a status region, written only when it changes (a
 * search's result is announced, a selection is not); form controls' borders
 * have 3:1 against the card and the page (WCAG 1.4.11); and once every session
 * has ended the section links are gone and the announcement is made from
 * outside the hidden console. The axe-core audit, WCAG 2.2 AA with target
 * size, passes with cards (one selected), with the detail open and at the login.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  expectNoSeriousAxeViolations,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  seedImages,
  type TestBrowser,
} from './console-support.ts';
import { freshStack } from './helpers.ts';
import { cssContrast } from './wcag-contrast.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

describe.skipIf(NO_CHROMIUM)(
  'accessibility details of the console in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let ids: string[];

    beforeAll(async () => {
      stack = await freshStack();
      ids = await seedImages(stack, 2, (i) => `a11y-${i}.jpg`);
      ({ browser, page, errors } = await openConsole(stack));
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it("moves the focus to each section's heading from the section links", async () => {
      for (const [name, heading] of [
        ['Upload', 'upload-title'],
        ['Library', 'library-title'],
        ['Slideshow', 'order-title'],
        ['Jobs', 'jobs-title'],
      ]) {
        const link = page.locator('#sections').getByRole('link', { name, exact: true });
        await link.focus();
        await page.keyboard.press('Enter');
        await expect.poll(() => focusedElement(page)).toBe(heading);
      }
      expect(errors).toEqual([]);
    });

    it("announces the library's summary when a search changes it, and not when a card is selected", async () => {
      const summary = page.locator('#grid-summary');
      await expect.poll(() => page.locator('#grid > li').count()).toBe(ids.length);
      expect(await summary.getAttribute('role')).toBe('status');
      // The seeded images have no alt text: the summary counts them.
      expect(await summary.textContent()).toBe('Showing 2 images, 2 without alt text.');
      // Every write of the live region is a mutation (and, in a status region, read out).
      await summary.evaluate((node) => {
        const seen: string[] = [];
        (window as unknown as { summaryWrites: string[] }).summaryWrites = seen;
        new MutationObserver(() => seen.push(node.textContent ?? '')).observe(node, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      const writes = () =>
        page.evaluate(() => (window as unknown as { summaryWrites: string[] }).summaryWrites);
      await page.locator(`#grid li[data-id="${ids[0]}"] .pick`).check();
      await expect.poll(() => page.locator('#selection-count').textContent()).toBe('1 selected');
      expect(await writes()).toEqual([]);
      await page.locator(`#grid li[data-id="${ids[0]}"] .pick`).uncheck();

      await page.getByLabel('Search by name or title').fill('a11y-1');
      await expect.poll(() => summary.textContent()).toBe('Showing 1 image, 1 without alt text.');
      expect(await writes()).toContain('Showing 1 image, 1 without alt text.');
      await page.getByLabel('Search by name or title').fill('');
      await expect.poll(() => summary.textContent()).toBe('Showing 2 images, 2 without alt text.');
      expect(errors).toEqual([]);
    });

    it('passes the audit (WCAG 2.2 AA, target size included) with cards, one selected, and with the detail open', async () => {
      await expect.poll(() => page.locator('#grid > li').count()).toBe(ids.length);
      await page.locator(`#grid li[data-id="${ids[0]}"] .pick`).check();
      await expectNoSeriousAxeViolations(page, 'console with cards, one selected');
      await page.locator(`#grid li[data-id="${ids[0]}"] .pick`).uncheck();
      await page.locator(`#grid li[data-id="${ids[1]}"] button.open`).click();
      await page.locator('#detail[open] #describe').waitFor();
      await expectNoSeriousAxeViolations(page, 'detail dialog');
      await page.keyboard.press('Escape');
      await page.locator('#detail[open]').waitFor({ state: 'detached' });
      expect(errors).toEqual([]);
    });

    it('draws form controls with a border of at least 3:1 against the card and the page', async () => {
      const colours = await page.evaluate(() => {
        const style = (e: Element) => getComputedStyle(e);
        const search = document.getElementById('search') as HTMLElement;
        return {
          border: style(search).borderTopColor,
          card: style(search.closest('.card') as Element).backgroundColor,
          page: style(document.documentElement).backgroundColor,
        };
      });
      expect(cssContrast(colours.border, colours.card)).toBeGreaterThanOrEqual(3);
      expect(cssContrast(colours.border, colours.page)).toBeGreaterThanOrEqual(3);
    });

    it('announces that every session ended while the console is hidden, and hides the section links', async () => {
      await page.getByRole('button', { name: 'Log out everywhere' }).click();
      expect((await confirmation(page)).title).toBe('Log out everywhere?');
      await page.locator('#confirm-ok').click();
      await page.locator('#login-view').waitFor({ state: 'visible' });
      const announcer = page.locator('#announcer');
      await expect
        .poll(() => announcer.textContent())
        .toBe('Every admin session has ended. Log in again to continue.');
      // Not inside anything hidden: a live region in a hidden subtree is not read out.
      expect(await announcer.evaluate((node) => node.closest('[hidden]') === null)).toBe(true);
      expect(await page.locator('#sections').isVisible()).toBe(false);
      expect(await page.locator('#sections a').first().isVisible()).toBe(false);
      expect(await focusedElement(page)).toBe('password');
      await expectNoSeriousAxeViolations(page, 'login');
      expect(errors).toEqual([]);
    });
  },
);
