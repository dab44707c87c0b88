/**
 * HEIC (HEVC-coded HEIF) decoding with libheif compiled to WebAssembly
 * (`libheif-js`), because sharp's prebuilt libvips has no HEVC decoder.
 * Loaded lazily: only processes that meet a HEIC pay its ~100 ms start-up.
 * The decoded pixels are handed to sharp as RGBA with the image's colour
 * description (`colour`, see heic-colour.ts); libheif applies the HEIF
 * transforms (irot/imir) itself, so no EXIF orientation is applied after.
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

/**
 * The part of libheif's C API (libheif/heif.h) that libheif-js exports as
 * `_heif_*` functions on WebAssembly pointers: its JS wrapper (`HeifImage`)
 * does not expose the colour profile. A function that returns a
 * `struct heif_error` takes a pointer to it as its first argument.
 */
interface LibHeifC {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _heif_context_alloc(): number;
  _heif_context_free(context: number): void;
  _heif_context_read_from_memory_without_copy(
    error: number,
    context: number,
    data: number,
    size: number,
    options: number,
  ): void;
  _heif_context_get_primary_image_handle(error: number, context: number, out: number): void;
  _heif_image_handle_release(handle: number): void;
  _heif_image_handle_get_color_profile_type(handle: number): number;
  _heif_image_handle_get_raw_color_profile_size(handle: number): number;
  _heif_image_handle_get_raw_color_profile(error: number, handle: number, out: number): void;
  _heif_image_handle_get_nclx_color_profile(error: number, handle: number, out: number): void;
  _heif_nclx_color_profile_free(profile: number): void;
}

interface LibHeif extends LibHeifC {
  HeifDecoder: new () => { decode(data: Uint8Array): HeifImage[] };
}

/**
 * The colour description of the primary image, as libheif reads it from its
 * `colr` boxes (ISO/IEC 23008-12 §6.5.5), or from the HEVC VUI without one.
 */
export interface HeicColour {
  /** The ICC profile of a `prof` or `rICC` colr box. */
  icc?: Buffer;
  /** ITU-T H.273 code points of an `nclx` description: 12 = Display P3; transfer 16 = PQ, 18 = HLG. */
  nclx?: { primaries: number; transfer: number };
}

/** Raw RGBA pixels of a decoded HEIC, with the colour space they are in. */
export interface DecodedHeic {
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
  hasAlpha: boolean;
  colour: HeicColour;
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

/** heif_color_profile_type values (fourcc codes). */
const PROFILE = { nclx: 0x6e636c78, prof: 0x70726f66, rICC: 0x72494343 } as const;

/**
 * Reads the primary image's colour description through libheif's C API, in a
 * context of its own (headers only: nothing is decoded). Anything libheif
 * cannot read counts as no description, as before: the decode reports a
 * broken file, and an image without one is taken as sRGB.
 */
function readColour(lib: LibHeifC, input: Uint8Array): HeicColour {
  const scratch = lib._malloc(16); // struct heif_error (12 bytes), then one pointer
  const data = lib._malloc(input.length);
  const context = lib._heif_context_alloc();
  let handle = 0;
  const int32 = (pointer: number) => new DataView(lib.HEAPU8.buffer).getInt32(pointer, true);
  const ok = () => int32(scratch) === 0; // heif_error.code == heif_error_Ok
  try {
    if (!scratch || !data || !context) return {};
    lib.HEAPU8.set(input, data);
    lib._heif_context_read_from_memory_without_copy(scratch, context, data, input.length, 0);
    if (!ok()) return {};
    lib._heif_context_get_primary_image_handle(scratch, context, scratch + 12);
    handle = ok() ? int32(scratch + 12) : 0;
    if (!handle) return {};
    const colour: HeicColour = {};
    const type = lib._heif_image_handle_get_color_profile_type(handle);
    if (type === PROFILE.prof || type === PROFILE.rICC) {
      const size = lib._heif_image_handle_get_raw_color_profile_size(handle);
      const icc = size > 0 ? lib._malloc(size) : 0;
      if (icc) {
        lib._heif_image_handle_get_raw_color_profile(scratch, handle, icc);
        if (ok()) colour.icc = Buffer.from(lib.HEAPU8.subarray(icc, icc + size));
        lib._free(icc);
      }
    }
    lib._heif_image_handle_get_nclx_color_profile(scratch, handle, scratch + 12);
    const nclx = ok() ? int32(scratch + 12) : 0;
    if (nclx) {
      // struct heif_color_profile_nclx: uint8_t version, then the enums (4 bytes each).
      colour.nclx = { primaries: int32(nclx + 4), transfer: int32(nclx + 8) };
      lib._heif_nclx_color_profile_free(nclx);
    }
    return colour;
  } finally {
    if (handle) lib._heif_image_handle_release(handle);
    if (context) lib._heif_context_free(context);
    if (data) lib._free(data);
    if (scratch) lib._free(scratch);
  }
}

/**
 * Decodes the primary image of a HEIC file to RGBA, or throws CORRUPT_IMAGE
 * (or TOO_MANY_PIXELS); DECODER_UNAVAILABLE when libheif-js cannot be loaded.
 */
export async function decodeHeic(input: Uint8Array, maxPixels: number): Promise<DecodedHeic> {
  const lib = load();
  // Before the decode, so the decoder can reuse the WebAssembly memory this frees.
  const colour = readColour(lib, input);
  const images = new lib.HeifDecoder().decode(input);
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
      colour,
    };
  } finally {
    for (const i of images) i.free();
  }
}
