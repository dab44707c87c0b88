/**
 * Support for the console browser tests (console-*.test.ts): Debian's
 * Chromium through playwright-core with a fresh profile, login, seeding many
 * small generated images through the admin API, the axe-core audit run inside
 * the page, screenshots (into the ignored e2e/screenshots/ unless
 * SCREENSHOTS_DIR says otherwise), cutting an answer on its way back, and
 * reading the events the slideshow page records.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalStack } from '@slideshow/tools/local-stack';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { expect } from 'vitest';
import { openDb, upload } from './helpers.ts';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';
/**
 * Why a suite is skipped on a machine without it — except when the screenshots
 * are asked for (`npm run screenshots` sets SCREENSHOTS_DIR): then a missing
 * Chromium fails instead of skipping, as in browser.test.ts.
 */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && process.env.SCREENSHOTS_DIR === undefined;

/**
 * Where screenshots go: `SCREENSHOTS_DIR` when the explicit screenshot command
 * sets it (docs/screenshots/), else the ignored e2e/screenshots/ — so a test
 * run never changes tracked files.
 */
export const SCREENSHOTS = resolve(
  process.env.SCREENSHOTS_DIR ?? resolve(repoRoot, 'e2e/screenshots'),
);

/** A browser with a fresh profile; `close()` removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh --user-data-dir and no background traffic. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Logs in on /admin and waits for the console. */
export async function login(page: Page, stack: LocalStack): Promise<void> {
  await page.goto(`${stack.backendUrl}/admin`);
  const consoleView = page.locator('#console-view');
  if (await consoleView.isVisible()) return;
  await page.getByLabel('Admin password').fill(stack.adminPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await consoleView.waitFor({ state: 'visible' });
}

/**
 * A fresh browser with one page logged in to the stack's admin console, and
 * the errors that page logs. The browser is closed again if the login fails.
 */
export async function openConsole(
  stack: LocalStack,
): Promise<{ browser: TestBrowser; page: Page; errors: string[] }> {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    await login(page, stack);
    return { browser, page, errors };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Waits for the confirmation dialog and gives its title and message, as the admin reads them. */
export async function confirmation(page: Page): Promise<{ title: string; message: string }> {
  await page.locator('#confirm[open]').waitFor();
  return {
    title: (await page.locator('#confirm-title').textContent()) ?? '',
    message: (await page.locator('#confirm-message').textContent()) ?? '',
  };
}

/**
 * What has the keyboard focus, as the console names it: its `data-focus` key,
 * else its id, else its tag (`BODY` when a step lost the focus).
 */
export async function focusedElement(page: Page): Promise<string> {
  return await page.evaluate(() => {
    const active = document.activeElement as HTMLElement | null;
    return active?.dataset.focus || active?.id || active?.tagName || 'none';
  });
}

/** A small photo-like JPEG, distinct per seed, wide enough for the 320 px variant. */
export async function smallJpeg(seed: number, width = 480, height = 360): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      raw[i] = (x + seed * 37) & 255;
      raw[i + 1] = (y + seed * 91) & 255;
      raw[i + 2] = (x * y + seed * 53) & 255;
    }
  }
  return await sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/** Uploads `count` generated images in requests of up to 50 files; returns ids in upload order. */
export async function seedImages(
  stack: LocalStack,
  count: number,
  name = (i: number) => `seed-${String(i).padStart(3, '0')}.jpg`,
  firstSeed = 0,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 50) {
    const files = [];
    for (let i = start; i < Math.min(count, start + 50); i += 1) {
      files.push({ name: name(i), bytes: await smallJpeg(firstSeed + i) });
    }
    ids.push(...(await upload(stack, files)));
  }
  return ids;
}

/** Keys under `prefix` in the stack's filesystem store. */
export function storedKeys(stack: LocalStack, prefix: string): string[] {
  const dir = join(stack.dataDir, 'storage', prefix);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.meta.json'))
    .map((e) => join(e.parentPath, e.name).slice(join(stack.dataDir, 'storage').length + 1));
}

/** Number of rows in `table` (read-only, beside the running backend). */
export function countRows(stack: LocalStack, table: string, where = '1 = 1'): number {
  const db = openDb(stack);
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number })
      .n;
  } finally {
    db.close();
  }
}

const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * The axe-core rule tags the audit runs: WCAG 2.0–2.2 A and AA and axe's best
 * practices. Named, because axe's default run leaves out rules such as
 * `target-size` (WCAG 2.2's 2.5.8, AA), which the README's promise covers.
 */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * Runs axe-core inside the page (evaluated through the DevTools protocol, so
 * the page's strict CSP stays as it is) over {@link AXE_TAGS} and fails on
 * serious or critical violations, listing each with its elements.
 */
export async function expectNoSeriousAxeViolations(page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async (tags) => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: Document,
            options: { runOnly: { type: 'tag'; values: string[] } },
          ): Promise<{ violations: AxeViolation[] }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes
        .slice(0, 5)
        .map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  }, AXE_TAGS);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${what}: ${JSON.stringify(serious, null, 2)}`).toEqual([]);
}

/** Saves a screenshot to <SCREENSHOTS>/<name>.png. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** Errors the page logged or threw; a test asserts none. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/**
 * Lets the first request matching `urlPattern` reach the server and cuts its answer on the
 * way back (the DevTools protocol's Fetch domain at the response stage: the browser sees a
 * reset connection); later ones pass. `release()` turns the interception off.
 */
export async function cutFirstAnswer(
  browser: TestBrowser,
  page: Page,
  urlPattern: string,
): Promise<{ release(): Promise<void> }> {
  const cdp: CDPSession = await browser.context.newCDPSession(page);
  let cut = false;
  cdp.on('Fetch.requestPaused', (event: { requestId: string }) => {
    const action = cut
      ? cdp.send('Fetch.continueRequest', { requestId: event.requestId })
      : cdp.send('Fetch.failRequest', {
          requestId: event.requestId,
          errorReason: 'ConnectionReset',
        });
    cut = true;
    action.catch((error: unknown) => console.warn('fetch interception', error));
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern, requestStage: 'Response' }] });
  return {
    async release() {
      await cdp.send('Fetch.disable');
      await cdp.detach();
    },
  };
}

/** An event the slideshow page recorded on `window.slideshowEvents` (apps/backend/src/web/assets/slideshow.js). */
export interface SlideEvent {
  type: string;
  id?: string;
  cause?: string;
  count?: number;
  wanted?: boolean;
  playing?: boolean;
  reason?: string;
  reducedMotion?: boolean;
  /** The variant an `image-loaded` event's image was loaded from. */
  currentSrc?: string;
  t?: number;
}

/** The events the slideshow page has recorded so far, in order. */
export const slideshowEvents = (page: Page): Promise<SlideEvent[]> =>
  page.evaluate(() => (window as unknown as { slideshowEvents: SlideEvent[] }).slideshowEvents);

/** Waits (bounded) until the slideshow page has recorded an event matching `match`. */
export async function waitForSlideshowEvent(
  page: Page,
  match: Partial<SlideEvent>,
  timeout = 30_000,
): Promise<void> {
  await page.waitForFunction(
    (m) =>
      (window as unknown as { slideshowEvents?: Record<string, unknown>[] }).slideshowEvents?.some(
        (e) => Object.entries(m).every(([k, v]) => e[k] === v),
      ),
    match,
    { timeout },
  );
}

/** Lets the page handle what is already queued (its events, a load) by waiting two animation frames. */
export async function nextFrames(page: Page): Promise<void> {
  await page.evaluate(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
  );
}
