/**
 * A HEIC through the whole local stack: admin upload → Cloud Tasks → Workflows →
 * the Cloud Run job running the processor bundle (which loads libheif-js at run
 * time) → variants → the public slideshow API and its media URLs. The HEIC is a
 * real HEVC-coded file the suite writes itself (tools/heic-writer.ts).
 */
import { makeSampleHeic } from '@slideshow/tools/sample-images';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedTask, freshStack, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

interface SlideshowEntry {
  id: string;
  width: number;
  height: number;
  placeholder: string | null;
  src: string | null;
  sources: { format: string; type: string; srcset: string }[];
}

describe('a HEIC through the local stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await freshStack();
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('is decoded by the processor bundle and shown in the slideshow as AVIF, WebP and JPEG', async () => {
    const sample = makeSampleHeic();
    const [id] = await upload(stack, [sample]);
    const [row] = await waitForTerminal(stack, [id!]);
    expect(row?.status, JSON.stringify(failedTask(stack, id!))).toBe('processed');

    const response = await fetch(`${stack.backendUrl}/api/slideshow`);
    const { images } = (await response.json()) as { images: SlideshowEntry[] };
    const entry = images.find((image) => image.id === id);
    expect(entry, JSON.stringify(images)).toMatchObject({ width: 1200, height: 800 });
    expect(entry?.placeholder).toBeTruthy();
    expect(entry?.sources.map((s) => s.format)).toEqual(['avif', 'webp', 'jpeg']);

    // The fallback JPEG the slideshow would show: served, decodable, the HEIC's proportions.
    const media = await fetch(new URL(entry?.src ?? '', stack.backendUrl));
    expect(media.status).toBe(200);
    expect(media.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await media.arrayBuffer())).metadata();
    expect(meta.format).toBe('jpeg');
    expect((meta.width ?? 0) / (meta.height ?? 1)).toBeCloseTo(1200 / 800, 2);
  }, 180_000);
});
