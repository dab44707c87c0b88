/**
 * Support for the upload panel's browser tests (console-uploads-*.test.ts): a
 * fresh stack and a logged-in console whose file chooser is intercepted from
 * the start, a temporary folder for the files the tests choose, and an upload
 * row as the tests read it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, login, type TestBrowser } from './console-support.ts';
import { freshStack } from './helpers.ts';

/** A local stack as `freshStack` gives it. */
export type Stack = Awaited<ReturnType<typeof freshStack>>;

/** A logged-in console on a fresh stack; `close()` stops both and removes `files`. */
export interface UploadPanel {
  stack: Stack;
  browser: TestBrowser;
  page: Page;
  /** Errors the page logged or threw (collectPageErrors). */
  errors: string[];
  /** A temporary folder for the files a test chooses. */
  files: string;
  close(): Promise<void>;
}

/** Starts a fresh stack and logs a fresh browser in to its console, ready to choose files. */
export async function openUploadPanel(): Promise<UploadPanel> {
  const stack = await freshStack();
  const browser = await launchBrowser();
  const files = mkdtempSync(join(tmpdir(), 'console-uploads-'));
  const close = async () => {
    await browser.close();
    await stack.dispose();
    rmSync(files, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    // Playwright turns Chromium's file-chooser interception on when a listener is added,
    // without waiting for it; a keypress sent right after can open the chooser before the
    // interception holds, and the chooser is then cancelled unseen. A listener for the
    // whole file keeps interception on long before any test presses a key.
    page.on('filechooser', () => {});
    await login(page, stack);
    return { stack, browser, page, errors, files, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The upload panel's row of the file `name`. */
export const uploadRow = (page: Page, name: string) =>
  page.locator('#uploads li', { hasText: name });

/** Clears the finished rows, when there are any. */
export async function clearFinished(page: Page): Promise<void> {
  const clear = page.getByRole('button', { name: 'Clear finished' });
  if (await clear.isVisible()) await clear.click();
}
