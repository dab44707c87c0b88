/**
 * Uploads cut short, in Chromium against the local stack: a file chosen after
 * the session ended is sent once the admin logs in again; a lost answer is
 * resumed without sending the file again; cancelling mid-upload leaves no
 * object and no row; a row whose image is deleted before it finished ends as
 * deleted, and its library card goes. The panel's ordinary path:
 * console-uploads-batch.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSampleImages } from '@slideshow/tools/sample-images';
import type { CDPSession, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  countRows,
  cutFirstAnswer,
  NO_CHROMIUM,
  smallJpeg,
  storedKeys,
} from './console-support.ts';
import {
  clearFinished as clearFinishedRows,
  openUploadPanel,
  type Stack,
  type UploadPanel,
  uploadRow,
} from './upload-panel-support.ts';

describe.skipIf(NO_CHROMIUM)(
  'uploads cut short in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let panel: UploadPanel;
    let stack: Stack;
    let browser: UploadPanel['browser'];
    let page: Page;
    let files: string;
    let errors: string[];
    const row = (name: string) => uploadRow(page, name);
    const clearFinished = () => clearFinishedRows(page);

    beforeAll(async () => {
      panel = await openUploadPanel();
      ({ stack, browser, page, files, errors } = panel);
    });
    afterAll(async () => {
      await panel?.close();
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
      // Expected: the cancelled requests (409) and the dropped answer (the refused file's 415
      // belongs to console-uploads-batch.test.ts, which checks its own).
      expect(errors.filter((e) => !/status of 409\b|ERR_CONNECTION_RESET/.test(e))).toEqual([]);
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
