/**
 * The admin console in Chromium against the local stack, for an image whose
 * original is gone from the store: it fails NOT_FOUND, which the contracts'
 * `permanenceOf` calls permanent ('original-missing': only restoring the original
 * helps, docs/operations.md, "Failure codes" and "Backups"), as it calls a damaged
 * upload's CORRUPT_IMAGE ('image'). Its upload row, failed-tasks row and detail say
 * so beside a Retry that stays (an operator may have restored it), and the
 * confirmations of the library's bulk Retry and of "Retry all failed" count it
 * alongside the image error, each in its own words.
 *
 * The original goes for real: dispatch from the uploads queue is paused, the file
 * is uploaded through the console, its original is removed from the local store's
 * folder, and dispatch resumes; the processor finds no object (MAX_RETRIES=0).
 */

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  expectNoSeriousAxeViolations,
  NO_CHROMIUM,
  openConsole,
  smallJpeg,
  type TestBrowser,
} from './console-support.ts';
import { failedTask, freshStack, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const IMAGE_NOTE = 'A permanent image error: a retry fails again unless the processor changed.';
const MISSING_NOTE =
  'The original is gone from the store: a retry fails again unless it is restored (docs/operations.md, "Backups").';
/** The confirmations' sentences for one image error and one missing original of two. */
const BOTH_WARNINGS =
  '1 of the 2 has a permanent image error (the file itself was refused) and will fail again unless the processor changed. ' +
  '1 of the 2 has lost its original file (gone from the store) and will fail again unless it is restored.';

/** A JPEG cut off in its scan data: accepted at upload (the header reads), fails to decode. */
async function damagedJpeg(seed: number): Promise<Buffer> {
  const full = await smallJpeg(seed, 800, 600);
  return full.subarray(0, Math.floor(full.length / 2));
}

/** Pauses or resumes dispatch from the uploads queue; throws with the answer unless 2xx. */
async function setUploadsQueue(stack: Stack, action: 'pause' | 'resume'): Promise<void> {
  const response = await stack.admin(`/api/admin/queues/uploads/${action}`, { method: 'POST' });
  if (!response.ok)
    throw new Error(`${action} answered ${response.status}: ${await response.text()}`);
}

describe.skipIf(NO_CHROMIUM)(
  'an image whose original is gone, in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let damaged: string;
    let gone: string;

    const uploadRow = () => page.locator('#uploads li', { hasText: 'gone.jpg' });
    const failedRow = (id: string) => page.locator(`#failed tbody tr[data-id="${id}"]`);

    beforeAll(async () => {
      stack = await freshStack({ maxRetries: 0 });
      ({ browser, page, errors } = await openConsole(stack));
      await setUploadsQueue(stack, 'pause');
      [damaged] = (await upload(stack, [
        { name: 'damaged.jpg', bytes: await damagedJpeg(101) },
      ])) as [string];
      await page.setInputFiles('#file-input', [
        { name: 'gone.jpg', mimeType: 'image/jpeg', buffer: await smallJpeg(7) },
      ]);
      const details = uploadRow().getByRole('link', { name: 'Details' });
      await details.waitFor({ timeout: 30_000 });
      gone = ((await details.getAttribute('href')) ?? '').replace('#image=', '');
      const original = join(stack.dataDir, 'storage', 'originals', gone);
      expect(existsSync(original)).toBe(true);
      rmSync(original);
      await setUploadsQueue(stack, 'resume');
      const rows = await waitForTerminal(stack, [damaged, gone], 240_000);
      expect(rows.map((r) => r.status)).toEqual(['failed', 'failed']);
      expect(failedTask(stack, gone)?.error_code).toBe('NOT_FOUND');
      expect(failedTask(stack, damaged)?.error_code).toBe('CORRUPT_IMAGE');
    }, 480_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it("says beside the upload row's Retry that the original is gone", async () => {
      const row = uploadRow();
      await row.and(page.locator('[data-stage="failed"]')).waitFor({ timeout: 30_000 });
      expect(await row.locator('.stage').textContent()).toMatch(/\(NOT_FOUND\)$/);
      const retry = row.getByRole('button', { name: 'Retry gone.jpg' });
      const noteId = await retry.getAttribute('aria-describedby');
      expect(noteId).toMatch(/^upload-note-/);
      expect(await page.locator(`[id="${noteId}"]`).textContent()).toBe(MISSING_NOTE);
      expect(errors).toEqual([]);
    });

    it('says so in the failed-tasks row and in the detail, and keeps their Retry', async () => {
      await expect.poll(() => page.locator('#failed tbody tr').count()).toBe(2);
      const row = failedRow(gone);
      const retry = row.getByRole('button', { name: 'Retry gone.jpg' });
      expect(await retry.getAttribute('aria-describedby')).toBe(`retry-note-${gone}`);
      expect(await row.locator('.retry-note').textContent()).toBe(MISSING_NOTE);
      expect(await failedRow(damaged).locator('.retry-note').textContent()).toBe(IMAGE_NOTE);
      await expectNoSeriousAxeViolations(page, 'jobs section with a missing original');

      await page.evaluate((to) => {
        location.hash = `image=${to}`;
      }, gone);
      const detail = page.locator('#detail[open]');
      await detail.waitFor();
      const detailRetry = detail.getByRole('button', { name: 'Retry' });
      expect(await detailRetry.getAttribute('aria-describedby')).toBe('detail-retry-note');
      expect(await detail.locator('#detail-retry-note').textContent()).toBe(MISSING_NOTE);
      await page.keyboard.press('Escape');
      await detail.waitFor({ state: 'detached' });
      expect(errors).toEqual([]);
    });

    it("warns in the library's bulk Retry of both that one lost its original and one has an image error", async () => {
      // The library loaded before the uploads (one came through the API): loaded again.
      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(() => page.locator('#grid > li').count()).toBe(2);
      for (const id of [damaged, gone])
        await page.locator(`#grid li[data-id="${id}"] .pick`).check();
      const retry = page.locator('[data-bulk="retry"]');
      expect(await retry.textContent()).toBe('Retry 2');
      await retry.click();
      expect(await confirmation(page)).toEqual({
        title: 'Retry 2 images?',
        message: `Each is processed again from its original file. ${BOTH_WARNINGS}`,
      });
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.locator('#confirm[open]').waitFor({ state: 'detached' });
      expect(errors).toEqual([]);
    });

    it('"Retry all failed" counts both in its warning and retries both', async () => {
      // Dispatch paused, so the retried images wait in their queue instead of failing again.
      await setUploadsQueue(stack, 'pause');
      await page.getByRole('button', { name: 'Retry all failed' }).click();
      expect(await confirmation(page)).toEqual({
        title: 'Retry 2 failed images?',
        message: `Each is processed again from its original file. ${BOTH_WARNINGS}`,
      });
      await page.locator('#confirm-ok').click();
      await expect.poll(() => page.locator('#announcer').textContent()).toBe('2 retried.');
      await expect.poll(() => page.locator('#failed tbody tr').count()).toBe(0);
      for (const id of [damaged, gone]) expect(failedTask(stack, id)?.resolved_at).not.toBeNull();
      expect(errors).toEqual([]);
    });
  },
);
