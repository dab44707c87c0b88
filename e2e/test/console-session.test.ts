/**
 * The admin session in Chromium against the local stack (docs/security.md,
 * "Defences"): a session is the `sid` cookie AND the token the login
 * answered, which the page keeps in localStorage. The console stays logged
 * in across a reload and in a second tab; a server on another port of
 * 127.0.0.1, to which the browser sends `sid` (cookies are not isolated by
 * port), gets nothing with it; logging out in one tab ends the other, and
 * "Log out everywhere" ends another browser's session too. A session that
 * ends while the detail is open closes it, says so at the login (focus on the
 * password) and gives the unsaved edits back after the login, unsaved; a
 * caption stored with \r\n is no edit.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmation,
  focusedElement,
  login,
  NO_CHROMIUM,
  openConsole,
  seedImages,
  type TestBrowser,
} from './console-support.ts';
import { adminJson, freshStack } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const TOKEN_KEY = 'slideshow.admin.sessionToken';

/** A server on another port of 127.0.0.1 that keeps the Cookie header of every request it gets. */
async function otherPortServer(): Promise<{ url: string; cookies: string[]; server: Server }> {
  const cookies: string[] = [];
  const server = createServer((request, response) => {
    cookies.push(request.headers.cookie ?? '');
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>other</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, cookies, server };
}

describe.skipIf(NO_CHROMIUM)(
  'the admin session in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];
    let ids: string[];
    const cards = (p: Page) => p.locator('#grid > li');

    beforeAll(async () => {
      stack = await freshStack();
      ids = await seedImages(stack, 2);
      ({ browser, page, errors } = await openConsole(stack));
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
    });

    it('stays logged in across a reload and in a second tab', async () => {
      await expect.poll(async () => await cards(page).count()).toBe(ids.length);
      expect(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY)).toMatch(
        /^[A-Za-z0-9_-]{43}$/,
      );

      await page.reload();
      await page.locator('#console-view').waitFor({ state: 'visible' });
      await expect.poll(async () => await cards(page).count()).toBe(ids.length);
      expect(await page.locator('#login-view').isHidden()).toBe(true);

      const second = await browser.newPage();
      await second.goto(`${stack.backendUrl}/admin`);
      await second.locator('#console-view').waitFor({ state: 'visible' });
      await expect.poll(async () => await cards(second).count()).toBe(ids.length);
      await second.close();
      expect(errors).toEqual([]);
    });

    it('gives a server on another port of 127.0.0.1 the sid cookie but no session with it', async () => {
      const other = await otherPortServer();
      try {
        const visit = await browser.newPage();
        await visit.goto(other.url);
        await visit.close();
        const sid = other.cookies.map((c) => /(?:^|;\s*)sid=([^;]+)/.exec(c)?.[1]).find(Boolean);
        // The browser did send it: cookies are not isolated by port (RFC 6265 §8.5).
        expect(sid, JSON.stringify(other.cookies)).toBeDefined();
        const headers = { cookie: `sid=${sid}` };
        const images = await fetch(`${stack.backendUrl}/api/admin/images`, { headers });
        expect(images.status, await images.text()).toBe(401);
        const session = await fetch(`${stack.backendUrl}/api/admin/session`, { headers });
        expect(await session.json()).toEqual({ authenticated: false, csrfToken: null });
      } finally {
        // Chromium keeps its connection alive: close it, or close() waits for it.
        other.server.closeAllConnections();
        await new Promise((resolve) => other.server.close(resolve));
      }
      // The admin's own page is still in.
      await page.reload();
      await page.locator('#console-view').waitFor({ state: 'visible' });
    });

    it('logs out every tab of the origin, and logs in again', async () => {
      const second = await browser.newPage();
      await second.goto(`${stack.backendUrl}/admin`);
      await second.locator('#console-view').waitFor({ state: 'visible' });

      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.locator('#login-view').waitFor({ state: 'visible' });
      expect(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY)).toBeNull();
      // The second tab's next request finds no session and shows the login.
      await second.reload();
      await second.locator('#login-view').waitFor({ state: 'visible' });
      await second.close();

      await login(page, stack);
      await expect.poll(async () => await cards(page).count()).toBe(ids.length);
    });

    it('logs out everywhere: another device’s session ends too, after a confirmation', async () => {
      const device = await openConsole(stack);
      try {
        await page.getByRole('button', { name: 'Log out everywhere' }).click();
        expect((await confirmation(page)).title).toBe('Log out everywhere?');
        await page.locator('#confirm-ok').click();
        await page.locator('#login-view').waitFor({ state: 'visible' });
        expect(await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY)).toBeNull();
        // A poll of this page in flight while every session ended is answered 401 too, and
        // Chromium prints each as a console error (2 in one run of 4): the ending, not a fault.
        const after = errors.filter((e) => !/status of 401\b/.test(e));
        errors.splice(0, errors.length, ...after);
        // The other browser still holds its cookie and token; they no longer make a session.
        await device.page.reload();
        await device.page.locator('#login-view').waitFor({ state: 'visible' });
        // The other browser's polls meanwhile got 401 (its session had ended): how it learns.
        expect(device.errors.filter((e) => !/status of 401\b/.test(e))).toEqual([]);
      } finally {
        await device.browser.close();
      }
      await login(page, stack);
      await expect.poll(async () => await cards(page).count()).toBe(ids.length);
      expect(errors).toEqual([]);
    });
    it('closes the detail when the session ends, says so at the login, and gives the unsaved edits back after it', async () => {
      const errorsBefore = errors.length;
      await page.locator(`#grid li[data-id="${ids[0]}"] button.open`).click();
      const detail = page.locator('#detail[open]');
      await detail.waitFor();
      const caption = page.locator('#describe-caption');
      await caption.fill('Typed while the session ended');

      // Every session ends elsewhere (a script with the admin token); the next poll learns it.
      const ended = await stack.admin('/api/admin/sessions/end-all', { method: 'POST' });
      expect(ended.status, await ended.text()).toBe(200);
      await page.locator('#login-view').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await page.locator('dialog[open]').count()).toBe(0);
      expect(await focusedElement(page)).toBe('password');
      expect(await page.locator('#login-error').textContent()).toBe(
        'Your session has ended — log in to continue; your unsaved changes are kept.',
      );
      expect(await page.locator('#login-error').getAttribute('role')).toBe('alert');

      await page.getByLabel('Admin password').fill(stack.adminPassword);
      await page.getByRole('button', { name: 'Log in' }).click();
      await detail.waitFor();
      await expect.poll(() => caption.inputValue()).toBe('Typed while the session ended');
      expect(await page.locator('#describe-status').textContent()).toBe(
        'Your unsaved changes are back; Save keeps them.',
      );
      // Not saved until the admin presses Save.
      const image = await adminJson<{ caption: string }>(stack, `/api/images/${ids[0]}`);
      expect(image.caption).toBe('');
      await page.keyboard.press('Escape');
      await detail.waitFor({ state: 'detached' });
      // The browser logged the 401s that ended the session, and nothing else.
      const logged = errors.splice(errorsBefore);
      expect(logged.filter((e) => !/status of 401\b/.test(e))).toEqual([]);
    });
    it('keeps no edits over a login for a caption stored with \\r\\n that the admin did not change', async () => {
      const errorsBefore = errors.length;
      // The API stores a caption's line breaks as \n; one written around it (sqlite3, another
      // writer) keeps \r\n, which the textarea's value reads back as \n.
      const db = new Database(join(stack.dataDir, 'slideshow.db'), { fileMustExist: true });
      try {
        db.prepare('UPDATE images SET caption = ? WHERE id = ?').run('line1\r\nline2', ids[1]);
      } finally {
        db.close();
      }
      await page.locator(`#grid li[data-id="${ids[1]}"] button.open`).click();
      const detail = page.locator('#detail[open]');
      await detail.waitFor();
      await expect.poll(() => page.locator('#describe-caption').inputValue()).toBe('line1\nline2');

      const ended = await stack.admin('/api/admin/sessions/end-all', { method: 'POST' });
      expect(ended.status, await ended.text()).toBe(200);
      await page.locator('#login-view').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await page.locator('#login-error').textContent()).toBe(
        'Your session has ended — log in to continue.',
      );
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

      await page.getByLabel('Admin password').fill(stack.adminPassword);
      await page.getByRole('button', { name: 'Log in' }).click();
      await expect.poll(async () => await cards(page).count()).toBe(ids.length);
      // Nothing was kept, so nothing reopens: no detail, no "unsaved changes are back".
      expect(await page.locator('dialog[open]').count()).toBe(0);
      expect(await page.locator('#detail').textContent()).not.toContain('unsaved changes');
      const logged = errors.splice(errorsBefore);
      expect(logged.filter((e) => !/status of 401\b/.test(e))).toEqual([]);
    });
  },
);
