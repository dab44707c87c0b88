/**
 * Writes a real HEIC (an HEVC-coded HEIF still image) from RGB pixels, so the
 * default test suite and `npm start` have HEIC input without an HEVC encoder:
 * sharp's prebuilt libvips has none and libheif-js ships only its decoder.
 *
 * The HEVC picture is a single intra (IDR) slice in which every 16×16 coding
 * unit is coded in PCM mode, i.e. its samples are stored raw (ITU-T H.265
 * §7.3.8.7 `pcm_sample`). That is a conforming Main-profile bitstream any HEVC
 * decoder (libde265 inside libheif, Apple's, Windows') reads; it is merely
 * large (1.5 bytes per pixel in 4:2:0). The only entropy-coded syntax elements
 * are one `split_cu_flag` (always 0) and the terminating bins `pcm_flag` and
 * `end_of_slice_segment_flag` per coding tree unit, written with the CABAC
 * encoder of H.265 §9.3.4 (the flush procedure is the one of H.264 §9.3.4.5).
 *
 * The container follows ISO/IEC 23008-12 (HEIF): `ftyp` (heic), `meta` with
 * the primary item `hvc1`, its `hvcC` configuration (ISO/IEC 14496-15 §8.3.3),
 * `ispe` size, colour boxes (by default one `nclx`: BT.709 primaries, sRGB
 * transfer, BT.601 full range; `options.colour` writes others, e.g. Display P3
 * as iPhones tag it) and the slice NAL unit in `mdat`. Width and height must be even (4:2:0 chroma);
 * the picture is padded to whole 16×16 blocks and cropped back by the SPS
 * conformance window.
 */

import { encodePcmPicture, PTL_BYTES, type RgbPixels } from './hevc-pcm.ts';

export type { RgbPixels } from './hevc-pcm.ts';

/**
 * One `colr` box (ISO/IEC 23008-12 §6.5.5): `nclx` code points of ITU-T H.273
 * (colour_primaries 1 = BT.709/sRGB, 12 = Display P3; transfer 13 = sRGB,
 * 16 = PQ, 18 = HLG) or an ICC profile (`prof`). The matrix is always BT.601
 * full range, the one the pixels are converted with.
 */
export type ColourBox =
  | { type: 'nclx'; primaries: number; transfer: number }
  | { type: 'prof'; icc: Uint8Array };

/** Options of `writeHeic`. */
export interface HeicOptions {
  /** The colour boxes of the image item, in order; default one BT.709 / sRGB `nclx`. */
  colour?: readonly ColourBox[];
}

const SRGB_NCLX: ColourBox = { type: 'nclx', primaries: 1, transfer: 13 };

/** An ISO BMFF box (4-byte size + type + body). */
function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const size = 8 + parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, size);
  out.set(new TextEncoder().encode(type), 4);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Big-endian integer fields, [value, byteCount] pairs. */
function fields(...values: [number, number][]): Uint8Array {
  const out: number[] = [];
  for (const [value, count] of values) {
    for (let i = count - 1; i >= 0; i--) out.push(Math.floor(value / 256 ** i) % 256);
  }
  return Uint8Array.from(out);
}

const ascii = (s: string) => new TextEncoder().encode(s);

/** A full box: version and flags, then the body. */
function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]) {
  return box(type, fields([version, 1], [flags, 3]), ...parts);
}

function hvcC(paramSets: { type: number; unit: Uint8Array }[]): Uint8Array {
  const arrays = paramSets.map(({ type, unit }) =>
    Uint8Array.from([0x80 | type, ...fields([1, 2], [unit.length, 2]), ...unit]),
  );
  return box(
    'hvcC',
    Uint8Array.from([1]), // configurationVersion
    PTL_BYTES.subarray(0, 1), // profile space, tier, profile idc
    PTL_BYTES.subarray(1, 5), // profile compatibility flags
    PTL_BYTES.subarray(5, 11), // constraint indicator flags
    PTL_BYTES.subarray(11, 12), // level
    fields([0xf000, 2], [0xfc, 1], [0xfd, 1], [0xf8, 1], [0xf8, 1], [0, 2]),
    // constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, lengthSizeMinusOne 3.
    Uint8Array.from([0x0f, arrays.length]),
    ...arrays,
  );
}

function colr(colour: ColourBox): Uint8Array {
  if (colour.type === 'prof') return box('colr', ascii('prof'), colour.icc);
  // BT.601 matrix (6), full range: the matrix toPlanes converts with.
  const { primaries, transfer } = colour;
  return box('colr', ascii('nclx'), fields([primaries, 2], [transfer, 2], [6, 2], [0x80, 1]));
}

/**
 * Encodes `pixels` as a HEIC file (HEVC Main profile, 4:2:0, 8 bits, PCM-coded).
 * Throws when a dimension is odd or zero.
 */
export function writeHeic(pixels: RgbPixels, options: HeicOptions = {}): Buffer {
  const colour = options.colour ?? [SRGB_NCLX];
  const { width, height } = pixels;
  if (!(width > 0 && height > 0 && width % 2 === 0 && height % 2 === 0)) {
    throw new Error(`Expected even, positive dimensions but received ${width}x${height}`);
  }
  if (pixels.data.length < width * height * pixels.channels) {
    throw new Error(
      `Expected ${width * height * pixels.channels} bytes of pixels but received ${pixels.data.length}`,
    );
  }
  const { parameterSets, slice: sliceNal } = encodePcmPicture(pixels);
  const sample = Uint8Array.from([...fields([sliceNal.length, 4])]);

  const ftyp = box('ftyp', ascii('heic'), fields([0, 4]), ascii('mif1'), ascii('heic'));
  const buildMeta = (mdatDataOffset: number) =>
    fullBox(
      'meta',
      0,
      0,
      fullBox('hdlr', 0, 0, fields([0, 4]), ascii('pict'), fields([0, 4], [0, 4], [0, 4], [0, 1])),
      fullBox('pitm', 0, 0, fields([1, 2])),
      fullBox(
        'iinf',
        0,
        0,
        fields([1, 2]),
        fullBox('infe', 2, 0, fields([1, 2], [0, 2]), ascii('hvc1'), fields([0, 1])),
      ),
      // iloc v0: 4-byte offsets and lengths, no base offset; one item with one extent.
      fullBox(
        'iloc',
        0,
        0,
        fields([0x44, 1], [0, 1], [1, 2], [1, 2], [0, 2], [1, 2]),
        fields([mdatDataOffset, 4], [sample.length + sliceNal.length, 4]),
      ),
      box(
        'iprp',
        box(
          'ipco',
          hvcC(parameterSets),
          fullBox('ispe', 0, 0, fields([width, 4], [height, 4])),
          ...colour.map(colr),
        ),
        // Item 1: hvcC (essential, property 1), ispe (2), then each colr box (3, 4, …).
        fullBox(
          'ipma',
          0,
          0,
          fields([1, 4], [1, 2], [2 + colour.length, 1], [0x81, 1], [0x02, 1]),
          Uint8Array.from(colour.map((_, i) => 3 + i)),
        ),
      ),
    );
  // The meta box's size does not depend on the offset it records, so measure it once.
  const metaSize = buildMeta(0).length;
  const mdatHeader = 8;
  const meta = buildMeta(ftyp.length + metaSize + mdatHeader);
  const mdat = box('mdat', sample, sliceNal);
  return Buffer.concat([ftyp, meta, mdat]);
}
