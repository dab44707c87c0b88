/**
 * The benchmark corpus: seven images of the kinds the presets must serve,
 * written into a temporary folder. Photos come from ../shared/corpus when it
 * exists (real photos, never committed here); without it each photo is
 * replaced by a generated stand-in of the same size and kind, so the bench
 * runs on a clean clone. The flat graphic and the HDR gain-map JPEG are
 * always generated.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { seededGrain } from '@slideshow/tools/seeded-grain';
import sharp, { type Sharp } from 'sharp';

/** One corpus image. */
export interface CorpusImage {
  name: string;
  kind: string;
  file: string;
  /** `shared`: derived from a real photo of ../shared/corpus; `generated`: synthetic. */
  source: 'shared' | 'generated';
}

/** A photo-like stand-in: soft gradients, a few shapes, sensor-like grain. */
async function syntheticPhoto(width: number, height: number, sigma = 24): Promise<Buffer> {
  const scene = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
        <stop offset="0" stop-color="#3a6ea5"/><stop offset="0.5" stop-color="#e0c068"/>
        <stop offset="1" stop-color="#5a3a2a"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <circle cx="${width / 3}" cy="${height / 2}" r="${Math.min(width, height) / 4}" fill="#c04040" opacity="0.7"/>
      <rect x="${width * 0.6}" y="${height * 0.2}" width="${width * 0.25}" height="${height * 0.5}" fill="#2f6b3a" opacity="0.8"/>
    </svg>`,
  );
  return sharp(scene)
    .composite([
      {
        input: seededGrain(width, height, sigma, 1),
        raw: { width, height, channels: 3 },
        blend: 'overlay',
      },
    ])
    .png()
    .toBuffer();
}

/** A source photo from ../shared when present, else a synthetic one of the given size. */
async function photo(
  shared: string | undefined,
  path: string,
  width: number,
  height: number,
): Promise<{ image: Buffer; source: CorpusImage['source'] }> {
  const file = shared && join(shared, 'corpus', path);
  if (file && existsSync(file)) {
    return { image: await sharp(file).autoOrient().png().toBuffer(), source: 'shared' };
  }
  return { image: await syntheticPhoto(width, height), source: 'generated' };
}

/** A flat graphic: solid fills, hard edges and small text (a chart as uploaded from a slide deck). */
function flatGraphicSvg(): string {
  const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  const bars = [0.35, 0.62, 0.48, 0.81, 0.57, 0.92]
    .map(
      (v, i) =>
        `<rect x="${180 + i * 200}" y="${860 - v * 600}" width="120" height="${v * 600}" fill="${colours[i]}"/>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1000">
    <rect width="1600" height="1000" fill="#fafafa"/>
    <rect width="1600" height="110" fill="#263238"/>
    <text x="60" y="75" font-family="sans-serif" font-size="52" fill="#ffffff">Quarterly results</text>
    ${bars}
    <line x1="150" y1="860" x2="1450" y2="860" stroke="#333" stroke-width="4"/>
    <circle cx="1380" cy="260" r="90" fill="#ffca28"/>
    <text x="160" y="940" font-family="sans-serif" font-size="34" fill="#37474f">Q1 Q2 Q3 Q4 Q5 Q6: small text must stay sharp</text>
  </svg>`;
}

/**
 * A rendered HDR scene (sky, a sun far above SDR white, dark water with a
 * reflection, grain) saved as an ISO 21496-1 gain-map JPEG by libvips'
 * UltraHDR writer: the SDR base image is what the presets encode.
 */
async function hdrGainMapJpeg(path: string, width: number, height: number): Promise<void> {
  const noise = seededGrain(width, height, 6, 2);
  // 16-bit sRGB-encoded values; above 65535 is brighter than SDR white.
  const encode = (v: number): number =>
    65535 * (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
  const pixels = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const d = Math.hypot(x - width * 0.68, y - height * 0.32) / width;
      const sun = 8 * Math.exp(-d * d * 900) + 0.8 * Math.exp(-d * d * 40);
      const horizon = height * (0.62 + 0.05 * Math.sin(x / 310) + 0.02 * Math.sin(x / 57));
      const g = ((noise[i] ?? 128) - 128) / 255;
      let rgb: [number, number, number];
      if (y < horizon) {
        const t = y / horizon;
        rgb = [0.08 + 0.5 * t + sun, 0.12 + 0.35 * t + sun * 0.85, 0.35 + 0.15 * t + sun * 0.6];
      } else {
        const t = (y - horizon) / (height - horizon);
        const spread = Math.exp(-(((x - width * 0.68) / (width * 0.05)) ** 2));
        const glint = sun * 0.35 * spread * (0.6 + 0.4 * Math.sin(y / 7));
        rgb = [
          0.03 + 0.05 * t + glint + g * 0.08,
          0.05 + 0.06 * t + glint * 0.85 + g * 0.08,
          0.06 + 0.04 * t + glint * 0.6 + g * 0.08,
        ];
      }
      pixels[i] = encode(Math.max(0, rgb[0]));
      pixels[i + 1] = encode(Math.max(0, rgb[1]));
      pixels[i + 2] = encode(Math.max(0, rgb[2]));
    }
  }
  // withGainMap() exists since sharp 0.35.0 (lib/output) but is missing from its typings.
  const hdr = sharp(pixels, { raw: { width, height, channels: 3 } }) as Sharp & {
    withGainMap(): Sharp;
  };
  await hdr.withGainMap().jpeg({ quality: 90 }).toFile(path);
}

/** The 12 MP phone JPEG (the shared one is Landscape_1 upscaled with sensor noise). */
async function phoneJpeg(dir: string, shared: string | undefined): Promise<CorpusImage> {
  const kind = '12 MP phone JPEG';
  const phoneShared = shared && join(shared, 'corpus/generated/photo-12mp-4000x3000.jpg');
  if (phoneShared && existsSync(phoneShared)) {
    return { name: 'phone-12mp', kind, file: phoneShared, source: 'shared' };
  }
  const file = join(dir, 'phone-12mp.jpg');
  await sharp(await syntheticPhoto(4000, 3000))
    .jpeg({ quality: 90 })
    .toFile(file);
  return { name: 'phone-12mp', kind, file, source: 'generated' };
}

/** A second 12 MP phone JPEG, held upright: stored 4000 × 3000 with EXIF orientation 6. */
async function rotatedPhoneJpeg(dir: string, shared: string | undefined): Promise<CorpusImage> {
  const { image, source } = await photo(shared, 'sharp/4.webp', 1024, 772);
  const upright = await sharp(image)
    .resize(3000, 4000, { fit: 'cover', kernel: 'lanczos3' })
    .composite([
      {
        input: seededGrain(3000, 4000, 10, 3),
        raw: { width: 3000, height: 4000, channels: 3 },
        blend: 'overlay',
      },
    ])
    .png()
    .toBuffer();
  const file = join(dir, 'phone-12mp-rotated.jpg');
  await sharp(upright)
    .rotate(-90)
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 92 })
    .toFile(file);
  return { name: 'phone-12mp-rotated', kind: '12 MP phone JPEG, EXIF-rotated', file, source };
}

/** A photo cut out with a feathered elliptical alpha (→ AVIF, WebP and PNG). */
async function alphaCutout(
  dir: string,
  landscape: { image: Buffer; source: CorpusImage['source'] },
): Promise<CorpusImage> {
  const { data, info } = await sharp(landscape.image)
    .resize(1800, 1200, { fit: 'cover' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const mask = await sharp(
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
          <defs><filter id="f"><feGaussianBlur stdDeviation="18"/></filter></defs>
          <ellipse cx="${width / 2}" cy="${height / 2}" rx="${width * 0.42}" ry="${height * 0.4}" fill="#fff" filter="url(#f)"/>
        </svg>`,
    ),
  )
    .greyscale()
    .raw()
    .toBuffer();
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = data[i * 3] ?? 0;
    rgba[i * 4 + 1] = data[i * 3 + 1] ?? 0;
    rgba[i * 4 + 2] = data[i * 3 + 2] ?? 0;
    rgba[i * 4 + 3] = mask[i] ?? 0;
  }
  const file = join(dir, 'alpha-cutout.png');
  await sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toFile(file);
  return { name: 'alpha-cutout', kind: 'photo with alpha', file, source: landscape.source };
}

/** Writes the corpus into `dir` and lists it. */
export async function buildCorpus(dir: string, shared: string | undefined): Promise<CorpusImage[]> {
  const images: CorpusImage[] = [];
  images.push(await phoneJpeg(dir, shared));
  images.push(await rotatedPhoneJpeg(dir, shared));

  // A small portrait (1200 × 1800).
  {
    const { image, source } = await photo(shared, 'generated/portrait.avif', 1200, 1800);
    const file = join(dir, 'portrait-small.jpg');
    await sharp(image).resize(1200, 1800, { fit: 'cover' }).jpeg({ quality: 90 }).toFile(file);
    images.push({ name: 'portrait-small', kind: 'small portrait', file, source });
  }

  // A high-detail landscape (rock, water, cloud texture; 1800 × 1200).
  const landscape = await photo(shared, 'orientation/Landscape_1.jpg', 1800, 1200);
  {
    const file = join(dir, 'landscape-detail.jpg');
    await sharp(landscape.image).jpeg({ quality: 92 }).toFile(file);
    images.push({
      name: 'landscape-detail',
      kind: 'high-detail landscape',
      file,
      source: landscape.source,
    });
  }

  // A flat graphic (always generated).
  {
    const file = join(dir, 'flat-graphic.png');
    await sharp(Buffer.from(flatGraphicSvg())).png().toFile(file);
    images.push({ name: 'flat-graphic', kind: 'flat graphic', file, source: 'generated' });
  }

  images.push(await alphaCutout(dir, landscape));

  // An HDR gain-map JPEG, 12 MP (always generated).
  {
    const file = join(dir, 'hdr-gainmap.jpg');
    await hdrGainMapJpeg(file, 4000, 3000);
    images.push({
      name: 'hdr-gainmap',
      kind: 'HDR gain-map JPEG (rendered)',
      file,
      source: 'generated',
    });
  }
  return images;
}
