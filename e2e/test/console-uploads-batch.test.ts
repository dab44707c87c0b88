/**
 * The upload panel and the jobs section in Chromium against the local stack
 * (backend, local-cloud and processor as real processes): the queue table's
 * rows; each file's row follows its image to processed (with a thumbnail) or
 * failed (with the reason and Retry); the "All files" bar does not reach
 * 100 % while images wait, shown by pausing the queue from the page; the
 * image timeline lists every step; a file sent before is "already uploaded"
 * and not sent again. Uploads cut short: console-uploads-interrupted.test.ts;
 * names and dates: console-names-dates.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSampleImages, makeTruncatedJpeg } from '@slideshow/tools/sample-images';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmation, NO_CHROMIUM, screenshot } from './console-support.ts';
import { failedTask } from './helpers.ts';
import {
  clearFinished as clearFinishedRows,
  openUploadPanel,
  type Stack,
  type UploadPanel,
  uploadRow,
} from './upload-panel-support.ts';

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
    let panel: UploadPanel;
    let stack: Stack;
    let page: Page;
    let files: string;
    let errors: string[];
    const row = (name: string) => uploadRow(page, name);
    const clearFinished = () => clearFinishedRows(page);

    beforeAll(async () => {
      panel = await openUploadPanel();
      ({ stack, page, files, errors } = panel);
    });
    afterAll(async () => {
      await panel?.close();
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
      // Over this file's tests the browser logged the refused notes.jpg (415) and nothing else
      // (console-uploads-interrupted.test.ts checks its own).
      expect(errors.filter((e) => !/status of 415\b/.test(e))).toEqual([]);
    });
  },
);
