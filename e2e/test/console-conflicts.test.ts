/**
 * Two admins, one image, in two Chromium browsers against the local stack: the
 * detail's Save writes only over the description's revision it loaded
 * (If-Match), so a save after someone else's shows what they changed beside
 * what the admin typed — announced, with the focus on it — and overwrites
 * nothing until the admin chooses Keep mine (saved over their revision) or
 * Take theirs (the form reloaded with their version). Edits kept over a login
 * carry the revision they were based on: a save made meanwhile is a conflict
 * too, not overwritten.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNoSeriousAxeViolations,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  seedImages,
  type TestBrowser,
} from './console-support.ts';
import { adminJson, freshStack } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;
interface Described {
  title: string;
  caption: string;
  altText: string;
  revision: string;
}

/** The console loaded again without a link to a detail: none open, whatever a test before left. */
async function freshConsole(page: Page, stack: Stack): Promise<void> {
  await page.goto(`${stack.backendUrl}/admin`);
  await page.locator('#console-view').waitFor({ state: 'visible' });
  expect(await page.locator('dialog[open]').count()).toBe(0);
}

/** Opens the detail of `id` from its card and waits for its form. */
async function openDetail(page: Page, id: string): Promise<void> {
  await page.locator(`#grid li[data-id="${id}"] button.open`).click();
  await page.locator('#detail[open] #describe').waitFor();
}

/** Presses Save and waits until the form says it saved. */
async function saveAndWait(page: Page): Promise<void> {
  await page.locator('#describe button[type="submit"]').click();
  await expect.poll(() => page.locator('#describe-status').textContent()).toBe('Saved.');
}

/** The conflict panel's rows: field → [saved meanwhile, yours], as the admin reads them. */
async function conflictRows(page: Page): Promise<Record<string, [string, string]>> {
  return await page
    .locator('#describe-conflict tr[data-field]')
    .evaluateAll((rows) =>
      Object.fromEntries(
        rows.map((row) => [
          (row as HTMLElement).dataset.field,
          [
            row.querySelector('.theirs')?.textContent ?? '',
            row.querySelector('.mine')?.textContent ?? '',
          ],
        ]),
      ),
    );
}

/** What the console's announcer says, once it has said something. */
async function announced(page: Page): Promise<string> {
  await expect.poll(() => page.locator('#announcer').textContent()).not.toBe('');
  return (await page.locator('#announcer').textContent()) ?? '';
}

/** The errors a page logged, but for the refusals the test causes (401 at a session's end, 412). */
const unexpected = (errors: string[]) => errors.filter((e) => !/status of (401|412)\b/.test(e));

describe.skipIf(NO_CHROMIUM)(
  'two admins editing one image (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let a: { browser: TestBrowser; page: Page; errors: string[] };
    let b: { browser: TestBrowser; page: Page; errors: string[] };
    let ids: string[];
    const described = (id: string) => adminJson<Described>(stack, `/api/images/${id}`);

    beforeAll(async () => {
      stack = await freshStack();
      ids = await seedImages(stack, 2, (i) => `shared-${i}.jpg`);
      a = await openConsole(stack);
      b = await openConsole(stack);
    }, 240_000);

    afterAll(async () => {
      await a?.browser.close();
      await b?.browser.close();
      await stack?.dispose();
    });

    it('shows B what A saved meanwhile instead of overwriting it, and both Take theirs and Keep mine work', async () => {
      const id = ids[0] as string;
      await openDetail(a.page, id);
      await openDetail(b.page, id);

      await a.page.locator('#describe-title').fill('Title by A');
      await saveAndWait(a.page);

      await b.page.locator('#describe-title').fill('Title by B');
      await b.page.locator('#describe-caption').fill('Caption by B');
      await b.page.locator('#describe button[type="submit"]').click();
      await b.page.locator('#describe-conflict').waitFor();
      expect(await focusedElement(b.page)).toBe('describe-conflict');
      expect(await announced(b.page)).toBe(
        'Not saved: someone else saved this image while you were editing it (changed: Title). Choose Keep mine or Take theirs.',
      );
      expect(await conflictRows(b.page)).toEqual({ title: ['Title by A', 'Title by B'] });
      expect((await described(id)).title).toBe('Title by A');
      await expectNoSeriousAxeViolations(b.page, 'the detail with a conflict');

      // Take theirs: A's version in the form, B's typing dropped, the focus on the first field.
      await b.page.getByRole('button', { name: 'Take theirs' }).click();
      await expect.poll(() => b.page.locator('#describe-title').inputValue()).toBe('Title by A');
      expect(await b.page.locator('#describe-caption').inputValue()).toBe('');
      expect(await b.page.locator('#describe-conflict').count()).toBe(0);
      expect(await focusedElement(b.page)).toBe('describe-title');
      expect(await b.page.locator('#describe-status').textContent()).toBe(
        'Their version is in the form; your changes were dropped.',
      );
      await b.page.locator('#describe-caption').fill('Caption by B');
      await saveAndWait(b.page);
      expect(await described(id)).toMatchObject({ title: 'Title by A', caption: 'Caption by B' });

      // A's form still stands on A's own save: B's caption since is a conflict for A too.
      await a.page.locator('#describe-alt').fill('Alt by A');
      await a.page.locator('#describe button[type="submit"]').click();
      await a.page.locator('#describe-conflict').waitFor();
      expect(await focusedElement(a.page)).toBe('describe-conflict');
      expect(await conflictRows(a.page)).toEqual({ caption: ['Caption by B', '(empty)'] });
      expect((await described(id)).altText).toBe('');

      // Keep mine: A's form saved over B's revision; the focus goes back to Save.
      await a.page.getByRole('button', { name: 'Keep mine' }).click();
      await expect.poll(() => a.page.locator('#describe-status').textContent()).toBe('Saved.');
      expect(await a.page.locator('#describe-conflict').count()).toBe(0);
      expect(await a.page.evaluate(() => document.activeElement?.textContent)).toBe('Save');
      expect(await described(id)).toMatchObject({
        title: 'Title by A',
        caption: '',
        altText: 'Alt by A',
      });
      // A saves on: its form now stands on its own new revision.
      await a.page.locator('#describe-title').fill('Title by A, again');
      await saveAndWait(a.page);
      expect(unexpected(a.errors)).toEqual([]);
      expect(unexpected(b.errors)).toEqual([]);
    });

    it('keeps edits over a login with their revision: a save made meanwhile is a conflict, not overwritten', async () => {
      const id = ids[1] as string;
      await freshConsole(a.page, stack);
      await openDetail(a.page, id);
      await a.page.locator('#describe-caption').fill('Kept by A');

      const ended = await stack.admin('/api/admin/sessions/end-all', { method: 'POST' });
      expect(ended.status, await ended.text()).toBe(200);
      await a.page.locator('#login-view').waitFor({ state: 'visible', timeout: 15_000 });
      // While A is logged out, a script saves the image (no If-Match: unconditional).
      const scripted = await stack.admin(`/api/admin/images/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Saved meanwhile' }),
      });
      expect(scripted.status, await scripted.text()).toBe(200);

      await a.page.getByLabel('Admin password').fill(stack.adminPassword);
      await a.page.getByRole('button', { name: 'Log in' }).click();
      await a.page.locator('#detail[open] #describe').waitFor();
      await expect.poll(() => a.page.locator('#describe-caption').inputValue()).toBe('Kept by A');
      // Only the edited field came back: the title is the one saved meanwhile.
      expect(await a.page.locator('#describe-title').inputValue()).toBe('Saved meanwhile');
      const back = await a.page.locator('#describe-status').textContent();
      // But the form stands on the revision the edits were made on: a Save is not blind.
      await a.page.locator('#describe button[type="submit"]').click();
      await a.page.locator('#describe-conflict').waitFor();
      expect(await focusedElement(a.page)).toBe('describe-conflict');
      expect(await conflictRows(a.page)).toEqual({ title: ['Saved meanwhile', 'The same'] });
      expect(await described(id)).toMatchObject({ title: 'Saved meanwhile', caption: '' });
      expect(back).toBe(
        'Your unsaved changes are back, but the image was saved meanwhile: Save shows what changed.',
      );

      await a.page.getByRole('button', { name: 'Keep mine' }).click();
      await expect.poll(() => a.page.locator('#describe-status').textContent()).toBe('Saved.');
      expect(await described(id)).toMatchObject({ title: 'Saved meanwhile', caption: 'Kept by A' });
      expect(unexpected(a.errors)).toEqual([]);
    });
  },
);
