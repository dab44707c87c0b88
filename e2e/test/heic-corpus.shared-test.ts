/**
 * The corpus' camera-style HEIC (../shared/corpus/generated/portrait.heic, x265
 * intra coding plus an Exif item) through the whole local stack and the
 * processor bundle; the default suite's HEIC test (heic.test.ts) uses a file it
 * writes itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedTask, freshStack, upload, waitForTerminal } from './helpers.ts';

const shared = findSharedDir();

describe.skipIf(!shared)('portrait.heic through the local stack (needs ../shared)', () => {
  let stack: Awaited<ReturnType<typeof freshStack>>;

  beforeAll(async () => {
    stack = await freshStack();
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('is processed by the processor bundle into variants of its 1200×1800 picture', async () => {
    const bytes = readFileSync(join(shared ?? '', 'corpus/generated/portrait.heic'));
    const [id] = await upload(stack, [{ name: 'portrait.heic', bytes }]);
    const [row] = await waitForTerminal(stack, [id!], 180_000);
    expect(row?.status, JSON.stringify(failedTask(stack, id!))).toBe('processed');
    const variants = JSON.parse(row?.variants ?? '[]') as { format: string; width: number }[];
    expect(variants.some((v) => v.format === 'avif' && v.width === 1200)).toBe(true);
  }, 240_000);
});
