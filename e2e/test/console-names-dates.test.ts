/**
 * Names and dates as the admin console writes them, in Chromium against the
 * local stack (backend, local-cloud and processor as real processes): an
 * upload row shows a file's name without the characters the server removes
 * (no spoofed extension by U+202E) and sends it so (a name with ESC, legal
 * on Linux and macOS, is not refused as a malformed body), then takes the
 * name the server recorded — the library's; dates in the English console
 * stay English with Latin digits and name their time zone, in an ar-EG
 * browser too.
 */
import { makeTruncatedJpeg } from '@slideshow/tools/sample-images';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  launchBrowser,
  login,
  NO_CHROMIUM,
  type TestBrowser,
} from './console-support.ts';
import { failedTask, freshStack, openDb, upload } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** A row that has reached an ending its test looks at. */
const ENDED = ':is([data-stage="processed"], [data-stage="refused"], [data-stage="failed"])';

/** A small JPEG of its own colour (so no two files are one image). */
const jpeg = (background: string) =>
  sharp({ create: { width: 64, height: 48, channels: 3, background } })
    .jpeg()
    .toBuffer();

describe.skipIf(NO_CHROMIUM)(
  'names and dates in the console in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    const row = (name: string) => page.locator('#uploads li', { hasText: name });
    const rowNames = () => page.locator('#uploads li .name').allTextContents();
    /** The library card labelled exactly `name`. */
    const card = (name: string) =>
      page.locator('#grid > li').filter({
        has: page.locator('.label').getByText(name, { exact: true }),
      });
    const clearFinished = async () => {
      const clear = page.getByRole('button', { name: 'Clear finished' });
      if (await clear.isVisible()) await clear.click();
    };

    beforeAll(async () => {
      stack = await freshStack();
      browser = await launchBrowser();
      page = await browser.newPage();
      errors = collectPageErrors(page);
      await login(page, stack);
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it("shows a file's name as the library will, without its bidi-override characters", async () => {
      await clearFinished();
      // With U+202E before "gnp.jpg", the raw name reads "photogpj.png": a spoofed extension.
      await page.setInputFiles('#file-input', [
        { name: 'photo\u202egnp.jpg', mimeType: 'image/jpeg', buffer: await jpeg('#3a6') },
      ]);
      const shown = page.locator('#uploads li .name', { hasText: 'gnp.jpg' });
      await shown.waitFor({ timeout: 30_000 });
      expect(await shown.textContent()).toBe('photognp.jpg');
      expect(
        await page.getByRole('progressbar', { name: 'Upload progress of photognp.jpg' }).count(),
      ).toBe(1);
      await row('photognp.jpg')
        .and(page.locator('[data-stage="processed"]'))
        .waitFor({ timeout: 120_000 });
    });

    it('sends a file whose name holds a control character under the name without it, and the library shows that name', async () => {
      await clearFinished();
      const errorsBefore = errors.length;
      // ESC in a part's filename is refused by the server's multipart parser: sent raw, the
      // file came back "Malformed multipart body" (400).
      await page.setInputFiles('#file-input', [
        { name: 'a\u001bb.jpg', mimeType: 'image/jpeg', buffer: await jpeg('#a63') },
      ]);
      const sent = row('ab.jpg');
      await sent.and(page.locator(ENDED)).waitFor({ timeout: 120_000 });
      expect(await rowNames()).toEqual(['ab.jpg']);
      expect(await sent.locator('.stage').textContent()).toBe('Processed.');
      await card('ab.jpg').waitFor({ timeout: 30_000 });
      expect(errors.slice(errorsBefore)).toEqual([]);
    });

    it('names a row as the server recorded its file once the upload is answered: no leading dots, 200 characters at most', async () => {
      await clearFinished();
      const long = `${'x'.repeat(250)}.jpg`;
      const cut = `${'x'.repeat(196)}.jpg`;
      await page.setInputFiles('#file-input', [
        { name: '..hidden.jpg', mimeType: 'image/jpeg', buffer: await jpeg('#36a') },
        { name: long, mimeType: 'image/jpeg', buffer: await jpeg('#6a3') },
      ]);
      await expect
        .poll(() => page.locator(`#uploads li${ENDED}`).count(), { timeout: 120_000 })
        .toBe(2);
      expect((await rowNames()).sort()).toEqual(['hidden.jpg', cut]);
      for (const name of ['hidden.jpg', cut]) {
        expect(await row(name).getAttribute('data-stage')).toBe('processed');
        expect(
          await page.getByRole('progressbar', { name: `Upload progress of ${name}` }).count(),
        ).toBe(1);
        await card(name).waitFor({ timeout: 30_000 });
      }
    });

    it('writes dates in English with Latin digits and their time zone in an ar-EG browser in Tokyo', async () => {
      const [id] = await upload(stack, [
        { name: 'damaged.jpg', bytes: (await makeTruncatedJpeg()).bytes },
      ]);
      await expect
        .poll(() => failedTask(stack, id!)?.error_code, { timeout: 120_000, interval: 500 })
        .toBe('CORRUPT_IMAGE');
      const db = openDb(stack);
      const { last_attempt: lastAttempt } = db
        .prepare<[string], { last_attempt: string }>(
          'SELECT last_attempt FROM failed_tasks WHERE image_id = ?',
        )
        .get(id!)!;
      db.close();

      const arabic = await browser.newPage();
      const cdp = await browser.context.newCDPSession(arabic);
      try {
        // What Playwright's `locale` and `timezoneId` do, for this page alone.
        await cdp.send('Emulation.setLocaleOverride', { locale: 'ar-EG' });
        await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Tokyo' });
        const userAgent = await arabic.evaluate(() => navigator.userAgent);
        await cdp.send('Emulation.setUserAgentOverride', { userAgent, acceptLanguage: 'ar-EG' });
        await login(arabic, stack);
        // The browser is set as meant: its own format would write Arabic-Indic digits.
        expect(
          await arabic.evaluate(() => ({
            language: navigator.language,
            zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
            own: new Date(0).toLocaleString(),
          })),
        ).toMatchObject({
          language: 'ar-EG',
          zone: 'Asia/Tokyo',
          own: expect.stringMatching(/[٠-٩]/),
        });

        // Tokyo is 9 hours ahead of UTC all year: "Dec 5, 2026, 3:04:05 PM GMT+9".
        const date = /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s[AP]M GMT\+9$/;
        const cell = arabic.locator(
          `#failed tbody tr[data-id="${id}"] td[data-label="Last attempt"]`,
        );
        await cell.waitFor({ timeout: 30_000 });
        expect(await cell.textContent()).toMatch(date);
        const at = cell.locator('time');
        expect(await at.getAttribute('datetime')).toBe(new Date(lastAttempt).toISOString());
        const tokyoHour = new Intl.DateTimeFormat('en', {
          timeZone: 'Asia/Tokyo',
          hour: 'numeric',
          hourCycle: 'h12',
        }).format(new Date(lastAttempt));
        expect(await at.textContent()).toContain(`, ${tokyoHour.replace(/\s?[AP]M$/, '')}:`);
        const note = arabic.locator('#queues-note');
        await expect.poll(() => note.textContent()).toMatch(/^As of /);
        expect(await note.textContent()).toMatch(/^As of .* GMT\+9\.$/);
        expect(await note.locator('time').textContent()).toMatch(date);

        // The image's timeline too.
        await arabic.goto(`${stack.backendUrl}/admin#image=${id}`);
        const uploaded = arabic.locator('#timeline li[data-kind="uploaded"]');
        await uploaded.waitFor({ timeout: 30_000 });
        expect(await uploaded.textContent()).toMatch(/^[A-Z][a-z]{2} .* GMT\+9 — /);
        const jobs = await arabic.locator('#jobs-title').locator('..').textContent();
        expect(jobs).not.toMatch(/[\u0660-\u0669\u200f]/);
        expect(await arabic.locator('#timeline').textContent()).not.toMatch(
          /[\u0660-\u0669\u200f]/,
        );
      } finally {
        await cdp.detach();
        await arabic.close();
      }
    });

    it('counts a title in characters as the API does, so a title of emoji the API took can be edited and saved', async () => {
      const [id] = await upload(stack, [{ name: 'emoji.jpg', bytes: await jpeg('#c63') }]);
      // 150 emoji: 150 characters for the API (≤ 200), 300 UTF-16 units for `maxlength`.
      const title = '\u{1F600}'.repeat(150);
      const answer = await stack.admin(`/api/admin/images/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      });
      expect(answer.status).toBe(200);
      await page.goto(`${stack.backendUrl}/admin#image=${id}`);
      const input = page.locator('#describe-title');
      await input.waitFor({ timeout: 30_000 });
      await input.press('End');
      await input.press('Backspace');
      await page.locator('#describe button[type="submit"]').click();
      await expect
        .poll(() => page.locator('#describe-status').textContent(), { timeout: 30_000 })
        .toBe('Saved.');
      const db = openDb(stack);
      const stored = db
        .prepare<[string], { title: string }>('SELECT title FROM images WHERE id = ?')
        .get(id!)!.title;
      db.close();
      expect([...stored].length).toBe(149);
      // Over the limit the field itself refuses, naming the count as the API makes it.
      await input.fill('\u{1F468}\u200d\u{1F469}\u200d\u{1F467}'.repeat(41));
      expect(
        await input.evaluate((el: HTMLInputElement) => [
          el.validity.customError,
          el.validationMessage,
        ]),
      ).toEqual([true, 'At most 200 characters, emoji included; this has 205.']);
      await page.keyboard.press('Escape');
    });

    it('writes a right-to-left title right to left in its card, the detail heading and the title field', async () => {
      const [id] = await upload(stack, [{ name: 'arabic.jpg', bytes: await jpeg('#69c') }]);
      const answer = await stack.admin(`/api/admin/images/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'مرحبا بالعالم!' }),
      });
      expect(answer.status).toBe(200);
      // A load of its own: the library was listed before this upload (made through the API).
      await page.goto(`${stack.backendUrl}/admin`);
      await page.reload();
      const label = page.locator(`#grid > li[data-id="${id}"] .label`);
      // A miss says what the page showed (it missed once in a fresh-check, 30 s without the
      // card, and never here alone or beside busy loops).
      const cardIds = () =>
        page
          .locator('#grid > li')
          .evaluateAll((items) => items.map((li) => li.getAttribute('data-id')));
      try {
        await expect.poll(cardIds, { timeout: 30_000 }).toContain(id);
      } catch (error) {
        const shown = await page.evaluate(() => ({
          url: location.href,
          login: !document.querySelector('#login-view')?.hasAttribute('hidden'),
          console: !document.querySelector('#console-view')?.hasAttribute('hidden'),
          summary: document.querySelector('#grid-summary')?.textContent ?? null,
        }));
        throw new Error(
          `no card for ${id}: ${JSON.stringify({ ...shown, cards: await cardIds() })}`,
          {
            cause: error,
          },
        );
      }
      await label.waitFor({ timeout: 30_000 });
      const direction = (selector: string) =>
        page.locator(selector).evaluate((el) => getComputedStyle(el).direction);
      expect(await label.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
      await page.goto(`${stack.backendUrl}/admin#image=${id}`);
      await page.locator('#describe-title').waitFor({ timeout: 30_000 });
      expect(await direction('#detail-title')).toBe('rtl');
      expect(await direction('#describe-title')).toBe('rtl');
      await page.keyboard.press('Escape');
    });
  },
);
