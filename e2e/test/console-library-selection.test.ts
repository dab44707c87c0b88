/**
 * Selecting and acting on library images in Chromium against the local
 * stack: delete one and many with confirmation from the keyboard alone (its
 * questions in the singular for one image), "Select all shown" as a toggle, a
 * selection kept to the cards shown, and the focus kept in the bulk bar after
 * a bulk action. Paging and search: console-library-browse.test.ts.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  countRows,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  storedKeys,
  type TestBrowser,
} from './console-support.ts';
import {
  LIBRARY_SETUP_TIMEOUT,
  libraryCards,
  libraryStack,
  type Stack,
  shownIds,
} from './library-support.ts';

describe.skipIf(NO_CHROMIUM)(
  'selection and bulk actions in the library in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    const cards = () => libraryCards(page);
    const gridIds = () => shownIds(page);

    beforeAll(async () => {
      ({ stack } = await libraryStack());
      ({ browser, page, errors } = await openConsole(stack));
    }, LIBRARY_SETUP_TIMEOUT);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('deletes one image and then two at once with confirmation, from the keyboard alone', async () => {
      // A fresh page: the previous test's last sort and filter changes reload the grid
      // asynchronously, and ids read before that reload may not be among the cards after it.
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      await expect.poll(async () => await page.getByLabel('Sort').inputValue()).toBe('date:desc');
      const [one, two, three] = (await gridIds()).slice(0, 3) as [string, string, string];
      const card = (id: string) => page.locator(`#grid > li[data-id="${id}"]`);

      // One: open its detail with Enter, Delete… with Enter, then Escape keeps it.
      await card(one).locator('button.open').focus();
      await page.keyboard.press('Enter');
      await page.locator('#detail[open]').waitFor();
      await page.locator('#detail').getByRole('button', { name: 'Delete…' }).focus();
      await page.keyboard.press('Enter');
      await page.locator('#confirm[open]').waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await page.keyboard.press('Escape');
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });
      expect(countRows(stack, 'images', `id = '${one}'`)).toBe(1);
      await page.keyboard.press('Enter');
      await page.locator('#confirm[open]').waitFor();
      // Cancel and ask again within one task, as an Escape and an Enter typed at once
      // on a busy machine do: the first question's close event, fired later, must not
      // answer the second.
      await page.evaluate(() => {
        (document.querySelector('#confirm') as HTMLDialogElement).close('cancel');
        for (const b of Array.from(
          document.querySelectorAll<HTMLButtonElement>('#detail button'),
        )) {
          if (b.textContent === 'Delete…') b.click();
        }
      });
      await page.locator('#confirm[open]').waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await card(one).waitFor({ state: 'detached' });
      expect(countRows(stack, 'images', `id = '${one}'`)).toBe(0);

      // Two: select with Space, the bulk Delete… button, Tab to confirm.
      for (const id of [two, three]) {
        await card(id).locator('input.pick').focus();
        await page.keyboard.press('Space');
      }
      expect(await page.locator('#selection-count').textContent()).toBe('2 selected');
      // With one of them unselected again, the question is in the singular.
      await card(three).locator('input.pick').focus();
      await page.keyboard.press('Space');
      await page.locator('[data-bulk="delete"]').focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Delete 1 image?',
        message: 'Its file and every generated size are removed. This cannot be undone.',
      });
      await page.keyboard.press('Escape');
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });
      await card(three).locator('input.pick').focus();
      await page.keyboard.press('Space');
      expect(await page.locator('#selection-count').textContent()).toBe('2 selected');
      await page.locator('[data-bulk="delete"]').focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Delete 2 images?',
        message: 'Their files and every generated size are removed. This cannot be undone.',
      });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await card(two).waitFor({ state: 'detached' });
      await card(three).waitFor({ state: 'detached' });
      for (const id of [one, two, three]) {
        expect(countRows(stack, 'images', `id = '${id}'`)).toBe(0);
        expect(storedKeys(stack, `variants/${id}`)).toEqual([]);
        expect(storedKeys(stack, 'originals').filter((k) => k.endsWith(id))).toEqual([]);
      }
      await expect
        .poll(async () => await page.locator('#announcer').textContent())
        .toBe('2 images deleted.');
    });

    it('selects every shown card with "Select all shown", and clears them with it again', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const selectAll = page.getByLabel('Select all shown');
      const count = page.locator('#selection-count');
      const picked = async () => await page.locator('#grid input.pick:checked').count();
      const indeterminate = async () =>
        await selectAll.evaluate((box) => (box as HTMLInputElement).indeterminate);
      await selectAll.click();
      expect(await count.textContent()).toBe('60 selected');
      expect(await picked()).toBe(60);
      expect(await selectAll.isChecked()).toBe(true);
      expect(await indeterminate()).toBe(false);
      // A toggle: all shown selected → none.
      await selectAll.click();
      expect(await count.textContent()).toBe('0 selected');
      expect(await picked()).toBe(0);
      expect(await selectAll.isChecked()).toBe(false);
      // From part of them (the box is indeterminate) to all, and back, from the keyboard.
      await cards().nth(3).locator('input.pick').check();
      expect(await indeterminate()).toBe(true);
      await selectAll.focus();
      await page.keyboard.press('Space');
      expect(await count.textContent()).toBe('60 selected');
      await page.keyboard.press('Space');
      expect(await count.textContent()).toBe('0 selected');
      // Under a search, all it shows.
      await page.getByLabel('Search by name or title').fill('seed-01');
      const matching = countRows(stack, 'images', "original_name LIKE 'seed-01%'");
      expect(matching).toBeGreaterThan(1);
      await expect.poll(async () => await cards().count()).toBe(matching);
      await selectAll.click();
      expect(await count.textContent()).toBe(`${matching} selected`);
      expect(await picked()).toBe(matching);
      await selectAll.click();
      expect(await count.textContent()).toBe('0 selected');
      expect(errors).toEqual([]);
    });

    it('keeps the selection to the cards shown when the search or a filter changes, and acts only on those', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const [kept, left] = (await gridIds()).slice(0, 2) as [string, string];
      const card = (id: string) => page.locator(`#grid > li[data-id="${id}"]`);
      const count = page.locator('#selection-count');
      for (const id of [kept, left]) await card(id).locator('input.pick').check();
      expect(await count.textContent()).toBe('2 selected');

      // A search that shows one of them: the other is no longer selected, nor deleted.
      const name = (await card(kept).locator('.label').textContent()) ?? '';
      await page.getByLabel('Search by name or title').fill(name);
      await expect.poll(async () => await gridIds()).toEqual([kept]);
      expect(await count.textContent()).toBe('1 selected');
      await page.locator('[data-bulk="delete"]').click();
      expect((await confirmation(page)).title).toBe('Delete 1 image?');
      await page.keyboard.press('Escape');
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });

      // Back to every image: the one still shown is still selected, the other is not.
      await page.getByLabel('Search by name or title').fill('');
      await expect.poll(async () => await cards().count()).toBe(60);
      expect(await count.textContent()).toBe('1 selected');
      expect(await card(kept).locator('input.pick').isChecked()).toBe(true);
      expect(await card(left).locator('input.pick').isChecked()).toBe(false);

      // A filter that shows none of them: nothing is selected, every bulk action is off.
      await page.getByRole('combobox', { name: 'Status' }).selectOption('failed');
      await expect
        .poll(async () => await page.locator('#grid-summary').textContent())
        .toBe('No image matches.');
      expect(await count.textContent()).toBe('0 selected');
      for (const button of await page.locator('[data-bulk]').all()) {
        expect(await button.isDisabled()).toBe(true);
      }
      await page.getByRole('combobox', { name: 'Status' }).selectOption('');
      await expect.poll(async () => await cards().count()).toBe(60);
      expect(await count.textContent()).toBe('0 selected');
      expect(countRows(stack, 'images', `id IN ('${kept}', '${left}')`)).toBe(2);
      expect(errors).toEqual([]);
    });

    it('keeps the focus in the bulk bar when a bulk action from the keyboard disables its button', async () => {
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(async () => await cards().count()).toBe(60);
      const card = page.locator(`#grid > li[data-id="${(await gridIds())[5]!}"]`);
      await card.locator('input.pick').focus();
      await page.keyboard.press('Space');
      await page.locator('[data-bulk="hide"]').focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(async () => await page.locator('#announcer').textContent())
        .toBe('1 image hidden.');
      await expect.poll(async () => await card.locator('.badge.hidden').count()).toBe(1);
      await expect.poll(async () => await focusedElement(page)).toBe('select-all');
      // Shown again, the same way.
      await card.locator('input.pick').focus();
      await page.keyboard.press('Space');
      await page.locator('[data-bulk="publish"]').focus();
      await page.keyboard.press('Enter');
      await expect.poll(async () => await card.locator('.badge.hidden').count()).toBe(0);
      await expect.poll(async () => await focusedElement(page)).toBe('select-all');
      expect(errors).toEqual([]);
    });
  },
);
