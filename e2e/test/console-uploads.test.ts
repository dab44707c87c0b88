/**
 * The upload panel and the jobs section in Chromium against the local stack
 * (backend, local-cloud and processor as real processes): each file's row
 * follows its image to processed (with a thumbnail) or failed (with the
 * reason and Retry); the "All files" bar does not reach 100 % while images
 * wait, shown by pausing the queue from the page; a file sent before is
 * "already uploaded" and not sent again; cancelling mid-upload leaves no
 * object and no row; the image timeline lists every step; a row whose image
 * is deleted before it finished ends as deleted, and its library card goes; a
 * file chosen after the session ended is sent once the admin logs in again.
 * Names and dates: console-names-dates.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSampleImages, makeTruncatedJpeg } from '@slideshow/tools/sample-images';
import type { CDPSession, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectPageErrors,
  confirmation,
  countRows,
  cutFirstAnswer,
  launchBrowser,
  login,
  NO_CHROMIUM,
  screenshot,
  smallJpeg,
  storedKeys,
  type TestBrowser,
} from './console-support.ts';
import { failedTask, freshStack } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** Starts keeping every text the console's live region says (read with {@link announced}). */
async function recordAnnouncements(page: Page): Promise<void> {
  await page.evaluate(() => {
    const region = document.getElementById('announcer') as HTMLElement;
    const said: string[] = [];
    (window as unknown as { announced: string[] }).announced = said;
    new MutationObserver(() => {
      if (region.textContent) said.push(region.textContent);
    }).observe(region, { childList: true, characterData: true, subtree: true });
  });
}

/** What the live region has said since {@link recordAnnouncements}, in order. */
const announced = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { announced: string[] }).announced);

describe.skipIf(NO_CHROMIUM)(
  'the upload panel in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let files: string;
    let errors: string[];
    const row = (name: string) => page.locator('#uploads li', { hasText: name });
    const clearFinished = async () => {
      const clear = page.getByRole('button', { name: 'Clear finished' });
      if (await clear.isVisible()) await clear.click();
    };

    beforeAll(async () => {
      stack = await freshStack();
      browser = await launchBrowser();
      page = await browser.newPage();
      errors = collectPageErrors(page);
      // Playwright turns Chromium's file-chooser interception on when a listener is added,
      // without waiting for it; a keypress sent right after can open the chooser before the
      // interception holds, and the chooser is then cancelled unseen. A listener for the
      // whole file keeps interception on long before any test presses a key.
      page.on('filechooser', () => {});
      files = mkdtempSync(join(tmpdir(), 'console-uploads-'));
      await login(page, stack);
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it("draws the queue table's outbox row across all six columns", async () => {
      await page.locator('#queues tr[data-queue="outbox"]').waitFor();
      // Every row, the outbox's too, spans the table's six columns.
      const spans = await page
        .locator('#queues tbody tr')
        .evaluateAll((rows) =>
          rows.map((tr) =>
            Array.from((tr as HTMLTableRowElement).cells).reduce((n, cell) => n + cell.colSpan, 0),
          ),
        );
      expect(spans.length).toBeGreaterThan(1);
      expect(
        spans.every((n) => n === 6),
        JSON.stringify(spans),
      ).toBe(true);
    });

    it('follows each file to processed or failed, and fills the batch bar only when every image has finished', async () => {
      const [a, b] = await makeSampleImages(2);
      const damaged = await makeTruncatedJpeg();
      const chosen = [
        ['first.jpg', a!.bytes],
        ['second.png', b!.bytes],
        ['damaged.jpg', damaged.bytes],
        ['notes.jpg', Buffer.from('these are my notes, not a photo\n')],
      ] as const;
      for (const [name, bytes] of chosen) writeFileSync(join(files, name), bytes);

      // Dispatch paused from the jobs section: every byte arrives, but no image can finish.
      const uploadsQueue = page.locator('#queues tr[data-queue="uploads"]');
      await uploadsQueue.getByRole('button', { name: /Pause dispatch/ }).click();
      try {
        await page.locator('#queues tr[data-queue="uploads"][data-state="PAUSED"]').waitFor();
        await recordAnnouncements(page);
        await page.setInputFiles(
          '#file-input',
          chosen.map(([name]) => join(files, name)),
        );
        await expect
          .poll(async () => await page.locator('#uploads li[data-stage="queued"]').count(), {
            timeout: 60_000,
          })
          .toBe(3);
        const notes = row('notes.jpg');
        expect(await notes.getAttribute('data-stage')).toBe('refused');
        expect(await notes.textContent()).toContain('UNSUPPORTED_FORMAT');
        // Said as it happened, naming the file, long before the batch ends.
        await expect
          .poll(async () => (await announced(page)).filter((t) => t.includes('notes.jpg')))
          .toEqual([expect.stringMatching(/^notes\.jpg: Refused: .*\(UNSUPPORTED_FORMAT\)$/)]);
        expect((await announced(page)).join(' ')).not.toContain('finished');
        // Nothing of it was kept: its bar is empty, and it is refused, not failed.
        expect(await notes.locator('progress').getAttribute('value')).toBe('0');
        expect(await page.locator('#batch-summary').textContent()).toContain('1 refused');
        expect(await page.locator('#batch-summary').textContent()).not.toContain('failed');
        // All bytes sent, one of four finished (the refusal): the bar says so and is not full.
        expect(await page.locator('#batch-summary').textContent()).toContain('1 of 4 finished');
        expect(await page.locator('#batch-summary').textContent()).toContain('100 % sent');
        expect(Number(await page.locator('#batch-progress').getAttribute('value'))).toBeLessThan(
          100,
        );
        // The queue depth shows the three waiting tasks.
        await expect
          .poll(async () => Number(await uploadsQueue.locator('td').nth(1).textContent()), {
            timeout: 30_000,
          })
          .toBe(3);
        await page.evaluate(() => document.getElementById('jobs-title')?.scrollIntoView());
        await screenshot(page, 'console-jobs');
      } finally {
        // Resumed even when an assertion failed, so the later tests' images can finish.
        await uploadsQueue.getByRole('button', { name: /Resume dispatch/ }).click();
      }
      for (const name of ['first.jpg', 'second.png']) {
        await row(name).and(page.locator('[data-stage="processed"]')).waitFor({ timeout: 120_000 });
      }
      const failed = row('damaged.jpg').and(page.locator('[data-stage="failed"]'));
      await failed.waitFor({ timeout: 120_000 });
      expect(await failed.locator('.stage').textContent()).toMatch(
        /^Failed: The image is damaged or incomplete and cannot be decoded\. \(CORRUPT_IMAGE\)$/,
      );
      expect(await failed.getByRole('button', { name: 'Retry damaged.jpg' }).isVisible()).toBe(
        true,
      );
      // CORRUPT_IMAGE is a permanent image error: the row says so before Retry is chosen.
      const note = failed.locator('.retry-note');
      expect(await note.textContent()).toBe(
        'A permanent image error: a retry fails again unless the processor changed.',
      );
      expect(
        await failed
          .getByRole('button', { name: 'Retry damaged.jpg' })
          .getAttribute('aria-describedby'),
      ).toBe(await note.getAttribute('id'));
      const thumb = row('first.jpg').locator('img.thumb');
      await expect
        .poll(async () => await thumb.evaluate((img: HTMLImageElement) => img.currentSrc), {
          timeout: 30_000,
        })
        .toMatch(/\/w320\.avif$/);
      await expect
        .poll(async () => await page.locator('#batch-progress').getAttribute('value'), {
          timeout: 30_000,
        })
        .toBe('100');
      expect(await page.locator('#batch-summary').textContent()).toContain('4 of 4 finished');
      await expect
        .poll(() => page.locator('#announcer').textContent(), { timeout: 30_000 })
        .toMatch(/All 4 files finished: 2 processed, 1 failed, 1 refused\.$/);
      // The failure was said too, naming the file, before (or with) the batch's end.
      const said = (await announced(page)).join(' ');
      expect(said).toMatch(
        /damaged\.jpg: Failed: The image is damaged or incomplete and cannot be decoded\. \(CORRUPT_IMAGE\).*All 4 files finished/,
      );
      await page.evaluate(() => document.getElementById('upload-title')?.scrollIntoView());
      await screenshot(page, 'console-uploads');
    });

    it('retries a failed file from its row and shows every step in the image timeline', async () => {
      const failed = row('damaged.jpg');
      const id = (await failed
        .getByRole('link', { name: 'Details' })
        .getAttribute('href'))!.replace('#image=', '');
      await failed.getByRole('button', { name: 'Retry damaged.jpg' }).click();
      await expect
        .poll(() => failedTask(stack, id)?.attempt_count, { timeout: 120_000, interval: 500 })
        .toBe(2);
      await failed.and(page.locator('[data-stage="failed"]')).waitFor({ timeout: 30_000 });

      await failed.getByRole('link', { name: 'Details' }).click();
      await page.locator('#detail[open]').waitFor();
      const kinds = await page
        .locator('#timeline li')
        .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.kind));
      expect(kinds.slice(0, 3)).toEqual(['uploaded', 'dispatched', 'started']);
      expect(kinds.filter((k) => k === 'failed')).toHaveLength(2);
      expect(kinds).toContain('requeued');
      expect(kinds.at(-1)).toBe('failed');
      const attempt = await page.locator('#timeline li[data-kind="started"]').first().textContent();
      expect(attempt).toMatch(/attempt 1, execution /);
      await page.keyboard.press('Escape');
      await page.locator('#detail[open]').waitFor({ state: 'detached' });

      // The jobs section's "Retry all failed", confirmed from the keyboard.
      const failedRow = page.locator(`#failed tbody tr[data-id="${id}"]`);
      await failedRow.waitFor();
      expect(await failedRow.getByRole('link').textContent()).toBe('damaged.jpg');
      expect(await failedRow.textContent()).toContain('(CORRUPT_IMAGE)');
      await page.getByRole('button', { name: 'Retry all failed' }).focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Retry 1 failed image?',
        message:
          'It is processed again from its original file. It has a permanent image error (the file itself was refused) and will fail again unless the processor changed.',
      });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await expect
        .poll(() => failedTask(stack, id)?.attempt_count, { timeout: 120_000, interval: 500 })
        .toBe(3);
    });

    it('says a file sent before is already uploaded, without sending it again', async () => {
      const uploads: string[] = [];
      const onRequest = (r: { url(): string; method(): string }) => {
        if (r.method() === 'POST' && r.url().endsWith('/api/admin/upload')) uploads.push(r.url());
      };
      page.on('request', onRequest);
      await clearFinished();
      // The file chooser opened from the keyboard.
      await page.getByRole('button', { name: 'Choose files' }).focus();
      const chooser = page.waitForEvent('filechooser');
      await page.keyboard.press('Enter');
      await (await chooser).setFiles([join(files, 'first.jpg')]);
      const again = row('first.jpg');
      await again.and(page.locator('[data-stage="processed"]')).waitFor({ timeout: 30_000 });
      expect(await again.locator('.stage').textContent()).toMatch(/^Already uploaded/);
      expect(uploads).toEqual([]);
      // A batch of one is announced in the singular.
      await expect
        .poll(() => page.locator('#announcer').textContent())
        .toMatch(/^The file finished: 1 processed, 0 failed\.$/);
      page.off('request', onRequest);
    });

    it('says that a copy of a file that failed was already uploaded, and that it failed', async () => {
      await clearFinished();
      await page.setInputFiles('#file-input', [join(files, 'damaged.jpg')]);
      const again = row('damaged.jpg');
      await again.and(page.locator('[data-stage="failed"]')).waitFor({ timeout: 120_000 });
      expect(await again.locator('.stage').textContent()).toBe(
        'Already uploaded (same file). Failed: The image is damaged or incomplete and cannot be decoded. (CORRUPT_IMAGE)',
      );
      expect(await again.getByRole('button', { name: 'Retry damaged.jpg' }).isVisible()).toBe(true);
    });

    // Either request can meet the ended session: the duplicate check (fetch) or the upload
    // itself (XMLHttpRequest; the check answered as if the session were still there).
    for (const [name, refusedBy, background] of [
      ['after-logout.jpg', 'the duplicate check', '#a36'],
      ['after-logout-upload.jpg', 'the upload request', '#3a6'],
    ] as const) {
      it(`keeps a file chosen after the session ended (${refusedBy} refused), and sends it once the admin logs in again`, async () => {
        await clearFinished();
        const errorsBefore = errors.length;
        // The session ends (a logout in another tab, its expiry): the browser no longer has it.
        await page.context().clearCookies();
        const lookup = '**/api/admin/images/lookup';
        if (refusedBy === 'the upload request') {
          await page.route(lookup, (route) => route.fulfill({ json: { images: [] } }));
        }
        const bytes = await sharp({ create: { width: 80, height: 60, channels: 3, background } })
          .jpeg()
          .toBuffer();
        await page.setInputFiles('#file-input', [{ name, mimeType: 'image/jpeg', buffer: bytes }]);
        // The row waits (Cancel still offered), and the login form is shown.
        const waiting = row(name).and(page.locator('[data-stage="signed-out"]'));
        await waiting.waitFor({ state: 'attached', timeout: 30_000 });
        await page.locator('#login-view').waitFor({ state: 'visible' });
        await page.unroute(lookup);
        await page.getByLabel('Admin password').fill(stack.adminPassword);
        await page.getByRole('button', { name: 'Log in' }).click();
        await row(name).and(page.locator('[data-stage="processed"]')).waitFor({ timeout: 120_000 });
        // The browser logged the 401s that ended the session, and nothing else.
        const logged = errors.splice(errorsBefore);
        expect(logged.length).toBeGreaterThan(0);
        expect(logged.filter((e) => !/status of 401\b/.test(e))).toEqual([]);
      });
    }

    it('resumes when the network is back, without sending again a file the server already has', async () => {
      // Under 1 MiB, so posted whole (a session's lost answer: large-upload.test.ts).
      writeFileSync(join(files, 'lost-answer.jpg'), await smallJpeg(1));
      const sent: string[] = [];
      const onRequest = (r: { url(): string; method(): string }) => {
        if (r.method() === 'POST' && r.url().endsWith('/api/admin/upload')) sent.push(r.url());
      };
      page.on('request', onRequest);
      // The request reaches the server and is stored; its answer is cut on the way back.
      const interception = await cutFirstAnswer(browser, page, '*/api/admin/upload');
      try {
        await clearFinished();
        await page.setInputFiles('#file-input', [join(files, 'lost-answer.jpg')]);
        const lost = row('lost-answer.jpg');
        await lost.and(page.locator('[data-stage="interrupted"]')).waitFor({ timeout: 30_000 });
        expect(await page.getByRole('button', { name: 'Resume uploads' }).isVisible()).toBe(true);
        expect(sent).toHaveLength(1);
        // The browser going offline and online again resumes by itself.
        await browser.context.setOffline(true);
        await browser.context.setOffline(false);
        await lost.and(page.locator('[data-stage="processed"]')).waitFor({ timeout: 120_000 });
        expect(await lost.locator('.stage').textContent()).toMatch(/^Already uploaded/);
        expect(sent).toHaveLength(1);
      } finally {
        page.off('request', onRequest);
        await interception.release();
      }
    });

    it('cancels one file mid-upload, and the whole batch, leaving no object and no row', async () => {
      const big = async (seed: number) =>
        await sharp({
          create: {
            width: 2400,
            height: 1600,
            channels: 3,
            background: '#808080',
            noise: { type: 'gaussian', mean: 128 + seed, sigma: 60 },
          },
        })
          .jpeg({ quality: 100 })
          .toBuffer();
      for (const [name, seed] of [
        ['big-1.jpg', 1],
        ['big-2.jpg', 2],
        ['big-3.jpg', 3],
      ] as const) {
        writeFileSync(join(files, name), await big(seed));
      }
      const imagesBefore = countRows(stack, 'images');
      const originalsBefore = storedKeys(stack, 'originals').length;
      // Uploads slowed to 200 KB/s through the DevTools protocol: a few seconds per file.
      const cdp: CDPSession = await browser.context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: 200 * 1024,
      });
      try {
        await clearFinished();
        await page.setInputFiles('#file-input', [join(files, 'big-1.jpg')]);
        const one = row('big-1.jpg');
        await one.and(page.locator('[data-stage="sending"]')).waitFor({ timeout: 30_000 });
        await expect
          .poll(async () => Number(await one.locator('progress').getAttribute('value')), {
            timeout: 30_000,
          })
          .toBeGreaterThan(0);
        await one.getByRole('button', { name: 'Cancel big-1.jpg' }).click();
        await one.and(page.locator('[data-stage="cancelled"]')).waitFor({ timeout: 30_000 });
        expect(await one.locator('.stage').textContent()).toContain('nothing was kept');

        await page.setInputFiles('#file-input', [
          join(files, 'big-2.jpg'),
          join(files, 'big-3.jpg'),
        ]);
        await row('big-2.jpg')
          .and(page.locator('[data-stage="sending"]'))
          .waitFor({ timeout: 30_000 });
        await page.getByRole('button', { name: 'Cancel remaining uploads' }).click();
        for (const name of ['big-2.jpg', 'big-3.jpg']) {
          await row(name)
            .and(page.locator('[data-stage="cancelled"]'))
            .waitFor({ timeout: 30_000 });
        }
        // The batch (the three big files) ended cancelled, and says so: last, after "Remaining
        // uploads cancelled." when both came within the announcer's tick (admin-dom.js announce).
        await expect
          .poll(() => page.locator('#announcer').textContent(), { timeout: 30_000 })
          .toMatch(
            /^(Remaining uploads cancelled\. )?All 3 files finished: 0 processed, 0 failed, 3 cancelled\.$/,
          );
      } finally {
        await cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: 0,
          downloadThroughput: -1,
          uploadThroughput: -1,
        });
        await cdp.detach();
      }
      expect(countRows(stack, 'images')).toBe(imagesBefore);
      expect(storedKeys(stack, 'originals')).toHaveLength(originalsBefore);
      expect(storedKeys(stack, '.objectstore/tmp')).toEqual([]);
      // Expected: the refused notes.jpg (415), the cancelled requests (409), the dropped answer.
      expect(errors.filter((e) => !/status of (409|415)\b|ERR_CONNECTION_RESET/.test(e))).toEqual(
        [],
      );
    });

    it('ends the row of an image deleted before it finished, in its detail or elsewhere, and drops its card', async () => {
      const [, , , d, e] = await makeSampleImages(5);
      writeFileSync(join(files, 'deleted-here.jpg'), d!.bytes);
      writeFileSync(join(files, 'deleted-elsewhere.jpg'), e!.bytes);
      const uploadsQueue = page.locator('#queues tr[data-queue="uploads"]');
      await uploadsQueue.getByRole('button', { name: /Pause dispatch/ }).click();
      await page.locator('#queues tr[data-queue="uploads"][data-state="PAUSED"]').waitFor();
      try {
        await clearFinished();
        await page.setInputFiles('#file-input', [
          join(files, 'deleted-here.jpg'),
          join(files, 'deleted-elsewhere.jpg'),
        ]);
        const here = row('deleted-here.jpg');
        const elsewhere = row('deleted-elsewhere.jpg');
        for (const r of [here, elsewhere]) {
          await r.and(page.locator('[data-stage="queued"]')).waitFor({ timeout: 60_000 });
        }
        const idOf = async (r: typeof here) =>
          (await r.getByRole('link', { name: 'Details' }).getAttribute('href'))!.replace(
            '#image=',
            '',
          );
        const elsewhereId = await idOf(elsewhere);
        const card = page.locator(`#grid > li[data-id="${elsewhereId}"]`);
        await card.and(page.locator('[data-status="queued"]')).waitFor({ timeout: 30_000 });

        // One deleted from its detail...
        await here.getByRole('link', { name: 'Details' }).click();
        await page.locator('#detail[open]').waitFor();
        await page.locator('#detail').getByRole('button', { name: 'Delete…' }).click();
        await confirmation(page);
        await page.locator('#confirm-ok').click();
        await page.locator('#detail[open]').waitFor({ state: 'detached' });
        // ...the other through the API, as from another tab.
        const response = await stack.admin(`/api/admin/images/${elsewhereId}`, {
          method: 'DELETE',
        });
        expect(response.status, await response.text()).toBeLessThan(300);

        for (const r of [here, elsewhere]) {
          await r.and(page.locator('[data-stage="deleted"]')).waitFor({ timeout: 30_000 });
          expect(await r.locator('.stage').textContent()).toBe('Deleted before it finished.');
          expect(await r.getByRole('link', { name: 'Details' }).count()).toBe(0);
        }
        await card.waitFor({ state: 'detached', timeout: 30_000 });
        expect(await page.locator('#batch-summary').textContent()).toContain('2 of 2 finished');
        expect(
          await page.getByRole('button', { name: 'Cancel remaining uploads' }).isDisabled(),
        ).toBe(true);
        await page.getByRole('button', { name: 'Clear finished' }).click();
        expect(await page.locator('#uploads li').count()).toBe(0);
      } finally {
        await uploadsQueue.getByRole('button', { name: /Resume dispatch/ }).click();
      }
    });
  },
);
