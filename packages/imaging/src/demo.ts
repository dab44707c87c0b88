/**
 * Demo: makes three sample images itself (a photo-like JPEG with EXIF
 * orientation 6, a PNG with transparency, an animated GIF), runs the default
 * preset on each into <out-dir>/<name>/, prints a short summary to stderr and
 * the results as one JSON object on stdout.
 *
 *   node packages/imaging/src/demo.ts <out-dir>
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageResult } from '@slideshow/contracts';
import { coerceError } from '@slideshow/runtime';
import sharp from 'sharp';
import { processImage } from './process.ts';
import { alphaPng, animatedGif, photoJpeg } from './test-fixtures.ts';

async function samples(): Promise<Record<string, Buffer>> {
  const photo = await sharp(await photoJpeg(1600, 1200))
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
  return {
    'photo-orientation-6.jpg': photo,
    'logo-alpha.png': await alphaPng(480, 320),
    'animation.gif': await animatedGif(8, 160, 120),
  };
}

/** Generates the samples, processes each into `outDir`, and returns the results by sample name. */
export async function runDemo(outDir: string): Promise<Record<string, ImageResult>> {
  const results: Record<string, ImageResult> = {};
  for (const [name, data] of Object.entries(await samples())) {
    const dir = join(outDir, name.replace(/\.[a-z]+$/, ''));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `original-${name}`), data);
    const result = await processImage(data, {
      write: (v) => writeFile(join(dir, v.suffix), v.data),
    });
    results[name] = result;
    const total = result.variants.reduce((sum, v) => sum + v.bytes, 0);
    process.stderr.write(
      `${name}: ${result.width}x${result.height} ${result.format}, ${result.variants.length} variants ` +
        `(${(total / 1024).toFixed(0)} KB) in ${result.timings.total?.toFixed(0)} ms -> ${dir}\n`,
    );
  }
  return results;
}

if (import.meta.filename === process.argv[1]) {
  const outDir = process.argv[2];
  if (!outDir) {
    process.stderr.write('usage: node packages/imaging/src/demo.ts <out-dir>\n');
    process.exit(64);
  }
  try {
    process.stdout.write(`${JSON.stringify(await runDemo(outDir))}\n`);
  } catch (error) {
    const appError = coerceError(error);
    process.stdout.write(`${JSON.stringify({ error: appError.toJSON() })}\n`);
    process.exit(1);
  }
}
