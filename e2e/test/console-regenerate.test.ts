/**
 * The admin console's regeneration panel in Chromium against the local stack
 * (docs/operations.md, "Presets and regeneration"): six small images made with
 * one version of a cheap preset, the preset file changed and the backend
 * restarted; then, from the keyboard alone, a dry run showing the count and
 * the estimate, Start behind its confirmation (the focus then on Pause, not
 * dropped to the page), the progress moving, Pause
 * (focus lands on Resume), Resume and Cancel — each checked against the API —
 * and the axe-core audit of the panel.
 *
 * The run is slowed by REGEN_RATE_PER_MINUTE=2 (a bucket of at most two
 * dispatches, then one every 30 s), so it is still going when Cancel is
 * pressed: every image done would take two minutes or more, longer than the
 * test's own wait for the first image to finish.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNoSeriousAxeViolations,
  focusedElement,
  NO_CHROMIUM,
  openConsole,
  screenshot,
  seedImages,
  type TestBrowser,
} from './console-support.ts';
import { cheapPresetFile, freshStack, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

const IMAGES = 6;

const presetFile = (webpQuality: number) => cheapPresetFile('panel-v1', [96], webpQuality);

interface RunJson {
  id: number;
  status: string;
  done: number;
  cancelled: number;
  total: number;
}

describe.skipIf(NO_CHROMIUM)(
  'the regeneration panel in Chromium (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    let stack: Stack;
    let presetsDir: string;
    let browser: TestBrowser;
    let page: Page;
    let errors: string[];

    const latestRun = async (): Promise<RunJson | null> => {
      const response = await stack.admin('/api/admin/regenerate');
      const text = await response.text();
      if (!response.ok)
        throw new Error(`GET /api/admin/regenerate answered ${response.status}: ${text}`);
      return (JSON.parse(text) as { run: RunJson | null }).run;
    };
    const progress = () => page.locator('#regen-progress');
    /** Focuses the panel's button `name` and presses Enter on it (the keyboard's way to press it). */
    const press = async (name: string) => {
      const button = progress().getByRole('button', { name });
      await button.focus();
      await page.keyboard.press('Enter');
    };

    beforeAll(async () => {
      presetsDir = mkdtempSync(join(tmpdir(), 'e2e-panel-presets-'));
      const presetsPath = join(presetsDir, 'presets.json');
      writeFileSync(presetsPath, presetFile(80));
      stack = await freshStack({
        backendEnv: {
          PRESETS_FILE: presetsPath,
          INGEST_BATCH_WINDOW_MS: '300',
          REGEN_INTERVAL_MS: '250',
          REGEN_RATE_PER_MINUTE: '2',
        },
      });
      const ids = await seedImages(stack, IMAGES);
      const rows = await waitForTerminal(stack, ids, 240_000);
      expect(rows.every((r) => r.status === 'processed')).toBe(true);
      // The operator changes the preset and redeploys.
      writeFileSync(presetsPath, presetFile(60));
      await stack.restartBackend();
      ({ browser, page, errors } = await openConsole(stack));
    }, 360_000);
    afterAll(async () => {
      await browser?.close();
      await stack?.dispose();
      if (presetsDir) rmSync(presetsDir, { recursive: true, force: true });
    });

    it('dry-runs, starts, shows progress, and pauses, resumes and cancels from the keyboard', async () => {
      await expect
        .poll(() => page.locator('#regen-preset').textContent())
        .toMatch(/^panel-v1 \(version [0-9a-f]{16}\)$/);
      const dryRun = page.getByRole('button', { name: 'Dry run' });
      await dryRun.focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(() => page.locator('#regen-estimate').textContent())
        .toMatch(
          /^6 images \([0-9.]+ MP\): about [0-9.]+ CPU-seconds \([0-9.]+–[0-9.]+\), \$[0-9.e-]+ \(\$[0-9.e-]+–\$[0-9.e-]+\) at list prices \(other preset versions: .+ images of other preset versions .+\)\.$/,
        );

      // Start sits behind a confirmation whose default is Cancel: Tab to Start, then Enter.
      const start = page.getByRole('button', { name: 'Start regeneration' });
      await start.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Start regeneration?' });
      await dialog.waitFor({ state: 'visible' });
      await page.keyboard.press('Tab');
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent))
        .toBe('Start');
      await page.keyboard.press('Enter');
      await expect.poll(async () => (await latestRun())?.status).toBe('running');
      const run = (await latestRun()) as RunJson;
      expect(run.total).toBe(IMAGES);
      await expect.poll(() => start.isHidden()).toBe(true);
      await expect.poll(() => progress().getByRole('button', { name: 'Pause' }).count()).toBe(1);
      // The confirmation gave the focus back to Start, which hid: the run's Pause has it.
      await expect.poll(() => focusedElement(page)).toBe('regen-toggle');

      // Pause: the run stops, and the keyboard user lands on Resume.
      await press('Pause');
      await expect.poll(async () => (await latestRun())?.status).toBe('paused');
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.textContent))
        .toBe('Resume');
      expect(await progress().textContent()).toContain('paused: paused by an admin');
      await expectNoSeriousAxeViolations(page, 'regeneration panel, paused');
      await page.keyboard.press('Enter');
      await expect.poll(async () => (await latestRun())?.status).toBe('running');

      // Progress moves on the page as images finish (the console polls every 3 s).
      await expect
        .poll(async () => Number(await progress().locator('progress').getAttribute('value')), {
          timeout: 120_000,
        })
        .toBeGreaterThan(0);
      await expect(progress().textContent()).resolves.toMatch(/Done[1-6] of 6/);
      await screenshot(page, 'console-regeneration');

      await press('Cancel');
      await expect.poll(async () => (await latestRun())?.status).toBe('cancelled');
      const cancelled = (await latestRun()) as RunJson;
      expect(cancelled.id).toBe(run.id);
      expect(cancelled.cancelled).toBeGreaterThan(0);
      await expect
        .poll(() => progress().textContent())
        .toContain('cancelled: cancelled by an admin');
      expect(await progress().getByRole('button').count()).toBe(0);
      // With no action left in the panel, focus goes back to its first button.
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.id))
        .toBe('regen-dry-run');
      expect(errors).toEqual([]);
    }, 240_000);
  },
);
