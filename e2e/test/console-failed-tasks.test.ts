/**
 * The admin console's failed-tasks table in Chromium against the local stack
 * (docs/operations.md, "Presets and regeneration"): a regeneration that fails
 * leaves its image processed, serving its old variants, with a failed_tasks row
 * of source `regenerate` that no retry can resolve. Its row offers no Retry but
 * says why and links to the regeneration panel; every link in the rows is a
 * 44 px touch target; the rows of damaged uploads
 * keep their Retry; "Retry all failed" counts and confirms only those, and is
 * disabled once none is left; the library's bulk Retry over a selection that
 * holds the regenerated image counts, confirms and sends only the failed ones
 * (the API's `retryable`) and says why the other is left alone; both
 * confirmations say the damaged images have a permanent image error and will
 * fail again unless the processor changed. A damaged upload's detail says what
 * happened in plain words (the execution ran to completion, the image failed;
 * no preview; no variants), and a link to an id that names no image says
 * "No image <id>". A Retry in a row or in the detail leaves the keyboard focus
 * on the next Retry or Delete…, never on the page. The axe-core audit of the
 * page passes.
 *
 * The regeneration fails for real: the image's original is replaced after it
 * was processed, so the processor's sha256 check refuses it (a retryable
 * ORIGINAL_MISMATCH; with MAX_RETRIES=0 that first attempt is the last).
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  expectNoSeriousAxeViolations,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  seedImages,
  smallJpeg,
  type TestBrowser,
} from './console-support.ts';
import {
  adminJson,
  cheapPresetFile,
  failedTask,
  freshStack,
  openDb,
  upload,
  waitForTerminal,
} from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const presetFile = (webpQuality: number) => cheapPresetFile('rows-v1', [96], webpQuality);

/** A JPEG cut off in its scan data: accepted at upload (the header reads), fails to decode. */
async function damagedJpeg(seed: number): Promise<Buffer> {
  const full = await smallJpeg(seed, 800, 600);
  return full.subarray(0, Math.floor(full.length / 2));
}

describe.skipIf(NO_CHROMIUM)(
  'failed tasks in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let presetsDir: string;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let regenerated: string;
    let damaged: string[];

    beforeAll(async () => {
      presetsDir = mkdtempSync(join(tmpdir(), 'e2e-rows-presets-'));
      const presetsPath = join(presetsDir, 'presets.json');
      writeFileSync(presetsPath, presetFile(80));
      stack = await freshStack({
        maxRetries: 0,
        backendEnv: {
          PRESETS_FILE: presetsPath,
          INGEST_BATCH_WINDOW_MS: '300',
          REGEN_INTERVAL_MS: '250',
        },
      });
      [regenerated] = (await seedImages(stack, 1)) as [string];
      damaged = await upload(stack, [
        { name: 'damaged-1.jpg', bytes: await damagedJpeg(101) },
        { name: 'damaged-2.jpg', bytes: await damagedJpeg(102) },
      ]);
      const rows = await waitForTerminal(stack, [regenerated, ...damaged], 240_000);
      expect(rows.map((r) => [r.id, r.status]).sort()).toEqual(
        [[regenerated, 'processed'], ...damaged.map((id) => [id, 'failed'])].sort(),
      );

      // The operator changes the preset and redeploys; the image's original no longer matches.
      writeFileSync(presetsPath, presetFile(60));
      await mkdir(join(stack.dataDir, 'storage', 'originals'), { recursive: true });
      await writeFile(
        join(stack.dataDir, 'storage', 'originals', regenerated),
        await smallJpeg(500),
      );
      await stack.restartBackend();
      const { run } = await adminJson<{ run: { id: number } }>(stack, '/api/admin/regenerate', {
        filter: { ids: [regenerated] },
      });
      // Bounded: 240 s of 250 ms polls.
      for (let i = 0; ; i += 1) {
        const { run: now } = await adminJson<{ run: { status: string; failed: number } }>(
          stack,
          `/api/admin/regenerate/${run.id}`,
        );
        if (now.status === 'done' && now.failed === 1) break;
        if (i >= 960) throw new Error(`the run never failed its image: ${JSON.stringify(now)}`);
        await sleep(250);
      }
      expect(failedTask(stack, regenerated)).toMatchObject({
        source: 'regenerate',
        resolved_at: null,
      });

      ({ browser, page, errors } = await openConsole(stack));
    }, 480_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
      if (presetsDir) rmSync(presetsDir, { recursive: true, force: true });
    });

    const row = (id: string) => page.locator(`#failed tbody tr[data-id="${id}"]`);

    it("shows a failed regeneration's row without Retry, says why and links to the regeneration panel", async () => {
      await expect.poll(() => page.locator('#failed tbody tr').count()).toBe(3);
      const regen = row(regenerated);
      expect(await regen.getByRole('button').count()).toBe(0);
      const why = regen.locator('.not-retried');
      expect(await why.textContent()).toBe(
        'No retry: the image is processed and keeps serving its old variants. Start another regeneration',
      );
      for (const id of damaged) {
        expect(
          await row(id)
            .getByRole('button', { name: /^Retry damaged-[12]\.jpg$/ })
            .count(),
        ).toBe(1);
      }
      await expectNoSeriousAxeViolations(page, 'jobs section with a failed regeneration');
      // Every link in the rows, the image's and the regeneration panel's, is a 44 px touch target.
      const links = await page
        .locator('#failed tbody a')
        .evaluateAll((all) =>
          all.map((a) => [a.textContent ?? '', a.getBoundingClientRect().height] as const),
        );
      expect(links).toHaveLength(4);
      expect(
        links.filter(([, height]) => height < 44),
        JSON.stringify(links),
      ).toEqual([]);

      // The link, from the keyboard, takes focus to the regeneration panel's heading.
      await regen.getByRole('link', { name: 'Start another regeneration' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('regen-title');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('regen-dry-run');
      expect(errors).toEqual([]);
    });

    it('says what happened to a damaged upload in its detail, and warns before its Retry', async () => {
      const [id] = damaged as [string];
      await page.evaluate((to) => {
        location.hash = `image=${to}`;
      }, id);
      const detail = page.locator('#detail[open]');
      await detail.waitFor();
      await page.locator('#timeline li').first().waitFor();
      const fact = (name: string) =>
        detail.locator('dt', { hasText: name }).locator('xpath=following-sibling::dd[1]');
      // The processor exits 0 on a permanent image error: the execution ran to completion.
      expect(await fact('Workflow execution').textContent()).toMatch(
        /^Ran to completion — the image failed \(CORRUPT_IMAGE\)/,
      );
      expect(await detail.locator('#no-preview').textContent()).toBe(
        'No preview: processing failed.',
      );
      expect(await detail.locator('table').count()).toBe(0);
      expect(await detail.locator('#no-variants').textContent()).toBe(
        'No variants: processing failed.',
      );
      const retry = detail.getByRole('button', { name: 'Retry' });
      expect(await retry.getAttribute('aria-describedby')).toBe('detail-retry-note');
      expect(await detail.locator('#detail-retry-note').textContent()).toBe(
        'A permanent image error: a retry fails again unless the processor changed.',
      );
      await expectNoSeriousAxeViolations(page, 'detail of a damaged upload');
      await page.keyboard.press('Escape');
      await detail.waitFor({ state: 'detached' });

      // The failed-tasks rows say it next to their Retry too.
      for (const one of damaged) {
        expect(await row(one).locator('.retry-note').textContent()).toBe(
          'A permanent image error: a retry fails again unless the processor changed.',
        );
      }
      expect(errors).toEqual([]);
    });

    it('says "No image <id>" where the detail would open for an id that names no image', async () => {
      for (const missing of ['img_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'not-an-id']) {
        await page.evaluate((to) => {
          location.hash = `image=${to}`;
        }, missing);
        const detail = page.locator('#detail[open]');
        await detail.waitFor();
        await expect
          .poll(() => page.locator('#detail-title').textContent())
          .toBe(`No image ${missing}`);
        expect(await page.locator('#detail-missing').textContent()).toBe(
          'There is no image with this id: it was deleted, or the link is wrong.',
        );
        await expect
          .poll(() => page.locator('#announcer').textContent())
          .toBe(`No image ${missing}.`);
        await page.keyboard.press('Escape');
        await detail.waitFor({ state: 'detached' });
      }
      // A link followed in the same task that closes the dialog, so before its close event
      // runs: the new link opens, the close does not erase it.
      const detail = page.locator('#detail[open]');
      await page.evaluate(() => {
        location.hash = 'image=first-link';
      });
      await detail.waitFor();
      await page.evaluate(() => {
        (document.getElementById('detail') as HTMLDialogElement).close();
        location.hash = 'image=second-link';
      });
      await expect
        .poll(() => page.locator('#detail[open] #detail-title').textContent())
        .toBe('No image second-link');
      expect(await page.evaluate(() => location.hash)).toBe('#image=second-link');
      await page.keyboard.press('Escape');
      await detail.waitFor({ state: 'detached' });
      // Chromium logs the API's two 404s (the image, its timeline) for the well-formed id;
      // the id of another shape is never sent. Nothing else.
      expect(errors).toEqual(
        Array(2).fill(
          'console: Failed to load resource: the server responded with a status of 404 (Not Found)',
        ),
      );
      errors.length = 0;
    });

    it('confirms "Retry all failed" with the count it retries, and is disabled when only the regeneration is left', async () => {
      // Dispatch paused, so the retried images wait in their queue instead of failing again.
      const uploadsQueue = page.locator('#queues tr[data-queue="uploads"]');
      await uploadsQueue.getByRole('button', { name: /Pause dispatch/ }).click();
      await page.locator('#queues tr[data-queue="uploads"][data-state="PAUSED"]').waitFor();

      const retryAll = page.getByRole('button', { name: 'Retry all failed' });
      expect(await retryAll.isDisabled()).toBe(false);
      await retryAll.focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Retry 2 failed images?',
        message:
          'Each is processed again from its original file. Both have a permanent image error (the file itself was refused) and will fail again unless the processor changed. Rows without Retry are left as they are.',
      });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#announcer').textContent()).toBe('2 retried.');
      await expect.poll(() => page.locator('#failed tbody tr').count()).toBe(1);
      expect(await row(regenerated).count()).toBe(1);
      expect(await retryAll.isDisabled()).toBe(true);
      for (const id of damaged) expect(failedTask(stack, id)?.resolved_at).not.toBeNull();
      expect(failedTask(stack, regenerated)?.resolved_at).toBeNull();
      expect(errors).toEqual([]);
    });

    it("the library's bulk Retry counts, confirms and sends only the selected images the API marks retryable", async () => {
      // Dispatch resumed: the damaged images "Retry all failed" queued fail again (bounded poll).
      const uploadsQueue = page.locator('#queues tr[data-queue="uploads"]');
      await uploadsQueue.getByRole('button', { name: /Resume dispatch/ }).click();
      const statuses = () => {
        const db = openDb(stack);
        try {
          return damaged.map(
            (id) =>
              (db.prepare('SELECT status FROM images WHERE id = ?').get(id) as { status: string })
                .status,
          );
        } finally {
          db.close();
        }
      };
      await expect
        .poll(statuses, { timeout: 120_000, interval: 250 })
        .toEqual(['failed', 'failed']);

      await page.goto(`${stack.backendUrl}/admin`);
      await expect.poll(() => page.locator('#grid > li').count()).toBe(3);
      const retry = page.locator('[data-bulk="retry"]');
      // The regenerated image alone: nothing a retry takes, so Retry is off.
      await page.locator(`#grid li[data-id="${regenerated}"] .pick`).check();
      expect(await retry.textContent()).toBe('Retry 0');
      expect(await retry.isDisabled()).toBe(true);
      for (const id of damaged) await page.locator(`#grid li[data-id="${id}"] .pick`).check();
      expect(await page.locator('#selection-count').textContent()).toBe('3 selected');
      expect(await retry.textContent()).toBe('Retry 2');

      const sent: unknown[] = [];
      page.on('request', (r) => {
        if (r.url().endsWith('/api/admin/images/bulk')) sent.push(r.postDataJSON());
      });
      await retry.focus();
      await page.keyboard.press('Enter');
      expect(await confirmation(page)).toEqual({
        title: 'Retry 2 images?',
        message:
          'Each is processed again from its original file. Both have a permanent image error (the file itself was refused) and will fail again unless the processor changed. 1 image of the selection is left alone (1 processed): only failed images are retried.',
      });
      // The cards' refresh after the action is held until the selection is read: the count
      // must be right when the result is announced, not only once the cards come back.
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route('**/api/admin/images/lookup', async (route) => {
        await held;
        await route.continue();
      });
      await page.locator('#confirm-ok').click();
      await expect.poll(() => page.locator('#announcer').textContent()).toBe('2 images retried.');
      expect(sent).toEqual([{ action: 'retry', ids: expect.arrayContaining(damaged) }]);
      expect((sent[0] as { ids: string[] }).ids).toHaveLength(2);
      // The regenerated image stays selected, processed, its regeneration's failure open.
      expect(await page.locator('#selection-count').textContent()).toBe('1 selected');
      release();
      // Waits for the held handler to pass its request on (a plain unroute would hand it on
      // itself, and the handler's own continue would then fail).
      await page.unrouteAll({ behavior: 'wait' });
      expect(failedTask(stack, regenerated)?.resolved_at).toBeNull();
      expect(errors).toEqual([]);
    });

    it('keeps the keyboard focus off the page after a Retry in a row and in the detail', async () => {
      // The bulk Retry's images fail again (dispatch runs); then dispatch is paused, so the
      // images retried here wait in their queue and their rows stay gone.
      await expect
        .poll(() => page.locator('#failed tbody tr').count(), { timeout: 120_000 })
        .toBe(3);
      const uploadsQueue = page.locator('#queues tr[data-queue="uploads"]');
      await uploadsQueue.getByRole('button', { name: /Pause dispatch/ }).click();
      await page.locator('#queues tr[data-queue="uploads"][data-state="PAUSED"]').waitFor();
      const [first, second] = damaged as [string, string];

      // The retried row leaves; the next row's Retry (else its link) has the focus, or the
      // other damaged row's Retry when the retried row was the last.
      const retryFirst = row(first).getByRole('button', { name: /^Retry / });
      const expected = await retryFirst.evaluate((button, other) => {
        const next = button.closest('tr')?.nextElementSibling;
        if (!next) return `retry:${other}`;
        const keyed =
          next.querySelector<HTMLElement>('[data-focus^="retry:"]') ??
          next.querySelector<HTMLElement>('[data-focus]');
        return keyed?.dataset.focus;
      }, second);
      expect(expected).toMatch(/^(retry|open):img_/);
      await retryFirst.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => row(first).count()).toBe(0);
      await expect.poll(() => focusedElement(page)).toBe(expected);

      // The detail's Retry rebuilds its body: Delete… (a queued image has no Retry) has the focus.
      await page.evaluate((to) => {
        location.hash = `image=${to}`;
      }, second);
      const detail = page.locator('#detail[open]');
      await detail.waitFor();
      await detail.getByRole('button', { name: 'Retry' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#announcer').textContent()).toBe('Retry queued.');
      await expect.poll(() => detail.getByRole('button', { name: 'Retry' }).count()).toBe(0);
      await expect.poll(() => focusedElement(page)).toBe('detail-delete');
      await page.keyboard.press('Escape');
      await detail.waitFor({ state: 'detached' });
      await expect.poll(() => row(second).count()).toBe(0);
      expect(errors).toEqual([]);
    });
  },
);
