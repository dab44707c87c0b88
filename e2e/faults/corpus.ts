/**
 * The fault suite's uploads, made on the spot and cheaply: tiny distinct
 * images (64×64 JPEG or PNG, each a different colour and pattern, so every
 * sha256 differs), truncated JPEGs the processor must fail as CORRUPT_IMAGE,
 * and files the backend must refuse at upload (an SVG, plain text).
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';

/** What the suite expects of one upload. */
export type UploadKind = 'valid' | 'corrupt' | 'refused';

/** One file to upload. */
export interface CorpusFile {
  name: string;
  bytes: Buffer;
  sha256: string;
  kind: UploadKind;
}

/** A seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function tinyImage(index: number, random: () => number, size = 64): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  const [r, g, b] = [random() * 255, random() * 255, random() * 255];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      pixels[i] = (r + x * 2) & 255;
      pixels[i + 1] = (g + y * 2) & 255;
      pixels[i + 2] = (b + ((x * y + index) & 31)) & 255;
    }
  }
  const image = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
  return index % 3 === 0
    ? await image.png().toBuffer()
    : await image.jpeg({ quality: 85 }).toBuffer();
}

/**
 * `valid` distinct tiny images, one truncated JPEG per 20 of them and two
 * refused files, in a seeded shuffled order.
 */
export async function makeCorpus(valid: number, seed: number): Promise<CorpusFile[]> {
  const random = createRandom(seed);
  const files: CorpusFile[] = [];
  for (let i = 0; i < valid; i++) {
    const bytes = await tinyImage(i, random);
    const ext = i % 3 === 0 ? 'png' : 'jpg';
    files.push({ name: `fault-${seed}-${i}.${ext}`, bytes, sha256: sha(bytes), kind: 'valid' });
  }
  const corrupt = Math.max(1, Math.floor(valid / 20));
  for (let i = 0; i < corrupt; i++) {
    const full = await tinyImage(valid + i, random, 256);
    // Cut in the scan data: the header still reads, the pixels do not.
    const jpeg = await sharp(full).jpeg({ quality: 90 }).toBuffer();
    const bytes = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    files.push({ name: `corrupt-${seed}-${i}.jpg`, bytes, sha256: sha(bytes), kind: 'corrupt' });
  }
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><!-- ${seed} --></svg>`,
  );
  const text = Buffer.from(`not an image ${seed}\n`);
  files.push({ name: `refused-${seed}.svg`, bytes: svg, sha256: sha(svg), kind: 'refused' });
  files.push({ name: `refused-${seed}.jpg`, bytes: text, sha256: sha(text), kind: 'refused' });
  // Fisher–Yates with the seeded PRNG.
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [files[i], files[j]] = [files[j] as CorpusFile, files[i] as CorpusFile];
  }
  return files;
}
