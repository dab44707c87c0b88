/**
 * HEIC (HEVC-coded HEIF) decoding with libheif compiled to WebAssembly
 * (`libheif-js`), because sharp's prebuilt libvips has no HEVC decoder.
 * Loaded lazily: only processes that meet a HEIC pay its ~100 ms start-up.
 * The decoded pixels are handed to sharp as raw RGBA; libheif applies the
 * HEIF transforms (irot/imir) itself, so no EXIF orientation is applied after.
 * See README "HEIC" for the measurements behind this choice.
 */
import { createRequire } from 'node:module';
import { AppError, coerceError } from '@slideshow/runtime';
import { imageError } from './errors.ts';

interface HeifImage {
  get_width(): number;
  get_height(): number;
  has_alpha_channel(): boolean;
  is_primary(): boolean;
  display(
    target: { data: Uint8ClampedArray; width: number; height: number },
    done: (result: unknown) => void,
  ): void;
  free(): void;
}

interface LibHeif {
  HeifDecoder: new () => { decode(data: Uint8Array): HeifImage[] };
}

/** Raw RGBA pixels of a decoded HEIC. */
export interface DecodedHeic {
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
  hasAlpha: boolean;
}

let libheif: LibHeif | undefined;

/**
 * Loads libheif-js on first use. Its bundled build embeds the .wasm, so no
 * file lookup is needed once the module resolves. When it does not load, the
 * installation is broken, not the image: DECODER_UNAVAILABLE is retryable
 * (the image stays eligible for `requeue-failed` once the deployment is fixed).
 */
function load(): LibHeif {
  if (libheif) return libheif;
  try {
    // A literal specifier, so the processor's deploy check (apps/processor/bundle-imports.ts)
    // can see this load in the bundle and prove it resolves in the image.
    libheif = createRequire(import.meta.url)('libheif-js/wasm-bundle') as LibHeif;
  } catch (thrown) {
    const cause = coerceError(thrown);
    throw new AppError(
      'DECODER_UNAVAILABLE',
      `Expected the HEIC decoder (libheif-js) to load but it failed: ${cause.message.split('\n')[0]}`,
      { retryable: true, cause: thrown, context: { module: 'libheif-js/wasm-bundle' } },
    );
  }
  return libheif;
}

/**
 * Decodes the primary image of a HEIC file to RGBA, or throws CORRUPT_IMAGE
 * (or TOO_MANY_PIXELS); DECODER_UNAVAILABLE when libheif-js cannot be loaded.
 */
export async function decodeHeic(input: Uint8Array, maxPixels: number): Promise<DecodedHeic> {
  const Decoder = load().HeifDecoder;
  const images = new Decoder().decode(input);
  const image = images.find((i) => i.is_primary()) ?? images[0];
  if (!image) {
    throw imageError(
      'CORRUPT_IMAGE',
      'Expected a decodable HEIC image but libheif found no image in the file',
    );
  }
  try {
    const width = image.get_width();
    const height = image.get_height();
    if (width * height > maxPixels) {
      throw imageError(
        'TOO_MANY_PIXELS',
        `Expected at most ${maxPixels} pixels but the HEIC declares ${width}x${height} (${width * height} pixels)`,
      );
    }
    const pixels = new Uint8ClampedArray(width * height * 4);
    const ok = await new Promise<boolean>((resolve) => {
      image.display({ data: pixels, width, height }, (result) => resolve(Boolean(result)));
    });
    if (!ok) {
      throw imageError(
        'CORRUPT_IMAGE',
        'Expected a decodable HEIC image but libheif could not decode its pixels',
      );
    }
    return {
      data: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength),
      width,
      height,
      channels: 4,
      hasAlpha: image.has_alpha_channel(),
    };
  } finally {
    for (const i of images) i.free();
  }
}
