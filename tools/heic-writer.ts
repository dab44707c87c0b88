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

/** RGB(A) pixels, row-major, 8 bits per channel; alpha is ignored. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

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

/** Coding tree block (= coding unit = PCM block) size: 16×16 luma samples. */
const CTB_LOG2 = 4;
const CTB = 1 << CTB_LOG2;

/** Writes bits most significant first; Exp-Golomb codes of H.265 §9.2. */
class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  bit(value: number): void {
    this.current = (this.current << 1) | (value & 1);
    this.used++;
    if (this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  bits(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit(Math.floor(value / 2 ** i) % 2);
  }

  /** ue(v): unsigned Exp-Golomb. */
  ue(value: number): void {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    this.bits(0, length);
    this.bits(code, length + 1);
  }

  /** se(v): signed Exp-Golomb (only 0 is used here). */
  se(value: number): void {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }

  get aligned(): boolean {
    return this.used === 0;
  }

  /** Pads with zero bits to the next byte boundary. */
  alignZero(): void {
    while (this.used !== 0) this.bit(0);
  }

  /** rbsp_trailing_bits(): a one bit, then zeros to the byte boundary. */
  trailingBits(): void {
    this.bit(1);
    this.alignZero();
  }

  /** Appends whole bytes; the writer must be byte-aligned. */
  byteArray(values: Uint8Array): void {
    if (!this.aligned) throw new Error('BitWriter.byteArray: not byte-aligned');
    for (const v of values) this.bytes.push(v);
  }

  toBytes(): Uint8Array {
    if (!this.aligned) throw new Error('BitWriter.toBytes: not byte-aligned');
    return Uint8Array.from(this.bytes);
  }
}

/** rangeTabLps of H.265 Table 9-52 (the same as H.264's), by pStateIdx and qRangeIdx. */
const RANGE_TAB_LPS: readonly (readonly number[])[] = [
  [128, 176, 208, 240],
  [128, 167, 197, 227],
  [128, 158, 187, 216],
  [123, 150, 178, 205],
  [116, 142, 169, 195],
  [111, 135, 160, 185],
  [105, 128, 152, 175],
  [100, 122, 144, 166],
  [95, 116, 137, 158],
  [90, 110, 130, 150],
  [85, 104, 123, 142],
  [81, 99, 117, 135],
  [77, 94, 111, 128],
  [73, 89, 105, 122],
  [69, 85, 100, 116],
  [66, 80, 95, 110],
  [62, 76, 90, 104],
  [59, 72, 86, 99],
  [56, 69, 81, 94],
  [53, 65, 77, 89],
  [51, 62, 73, 85],
  [48, 59, 69, 80],
  [46, 56, 66, 76],
  [43, 53, 63, 72],
  [41, 50, 59, 69],
  [39, 48, 56, 65],
  [37, 45, 54, 62],
  [35, 43, 51, 59],
  [33, 41, 48, 56],
  [32, 39, 46, 53],
  [30, 37, 43, 50],
  [29, 35, 41, 48],
  [27, 33, 39, 45],
  [26, 31, 37, 43],
  [24, 30, 35, 41],
  [23, 28, 33, 39],
  [22, 27, 32, 37],
  [21, 26, 30, 35],
  [20, 24, 29, 33],
  [19, 23, 27, 31],
  [18, 22, 26, 30],
  [17, 21, 25, 28],
  [16, 20, 23, 27],
  [15, 19, 22, 25],
  [14, 18, 21, 24],
  [14, 17, 20, 23],
  [13, 16, 19, 22],
  [12, 15, 18, 21],
  [12, 14, 17, 20],
  [11, 14, 16, 19],
  [11, 13, 15, 18],
  [10, 12, 15, 17],
  [10, 12, 14, 16],
  [9, 11, 13, 15],
  [9, 11, 12, 14],
  [8, 10, 12, 14],
  [8, 9, 11, 13],
  [7, 9, 11, 12],
  [7, 9, 10, 12],
  [7, 8, 10, 11],
  [6, 8, 9, 11],
  [6, 7, 9, 10],
  [6, 7, 8, 9],
  [2, 2, 2, 2],
];

/** One CABAC context variable. */
interface Context {
  pStateIdx: number;
  valMps: number;
}

/**
 * Context initialisation of H.265 §9.3.2.2 for `initValue` at slice QP `qp`.
 */
function initContext(initValue: number, qp: number): Context {
  const m = (initValue >> 4) * 5 - 45;
  const n = ((initValue & 15) << 3) - 16;
  const pre = Math.min(126, Math.max(1, ((m * Math.min(51, Math.max(0, qp))) >> 4) + n));
  return pre <= 63 ? { pStateIdx: 63 - pre, valMps: 0 } : { pStateIdx: pre - 64, valMps: 1 };
}

/** The CABAC arithmetic encoder (H.264 §9.3.4.2–9.3.4.6, used unchanged by H.265). */
class CabacEncoder {
  private low = 0;
  private range = 510;
  private firstBit = true;
  private outstanding = 0;
  private readonly out: BitWriter;

  constructor(out: BitWriter) {
    this.out = out;
  }

  /** Re-initialises the engine (slice start, and after PCM samples: H.265 §9.3.2.5). */
  reset(): void {
    this.low = 0;
    this.range = 510;
    this.firstBit = true;
    this.outstanding = 0;
  }

  private putBit(bit: number): void {
    if (this.firstBit) this.firstBit = false;
    else this.out.bit(bit);
    for (; this.outstanding > 0; this.outstanding--) this.out.bit(1 - bit);
  }

  private renormalize(): void {
    while (this.range < 256) {
      if (this.low < 256) this.putBit(0);
      else if (this.low >= 512) {
        this.low -= 512;
        this.putBit(1);
      } else {
        this.low -= 256;
        this.outstanding++;
      }
      this.range <<= 1;
      this.low <<= 1;
    }
  }

  /** EncodeDecision: one context-coded bin. */
  decision(ctx: Context, bin: number): void {
    const lps = RANGE_TAB_LPS[ctx.pStateIdx]?.[(this.range >> 6) & 3];
    if (lps === undefined) throw new Error(`CABAC: no LPS range for state ${ctx.pStateIdx}`);
    this.range -= lps;
    if (bin !== ctx.valMps) {
      // Only the MPS is ever coded here (split_cu_flag 0 from its initial MPS 0);
      // an LPS would need transIdxLps, which this writer does not carry.
      throw new Error('CABAC: this writer codes only most probable symbols');
    }
    ctx.pStateIdx = Math.min(ctx.pStateIdx + 1, 62);
    this.renormalize();
  }

  /**
   * EncodeTerminate; a 1 ends the arithmetic codeword with EncodeFlush, whose
   * last written bit is 1 (the rbsp_stop_one_bit after end_of_slice_segment_flag).
   */
  terminate(bin: number): void {
    this.range -= 2;
    if (bin === 0) {
      this.renormalize();
      return;
    }
    this.low += this.range;
    this.range = 2;
    this.renormalize();
    this.putBit((this.low >> 9) & 1);
    this.out.bits(((this.low >> 7) & 3) | 1, 2);
  }
}

/** profile_tier_level(1, 0): Main profile, Main tier, level 6.2 (no size limit matters to decoders). */
function profileTierLevel(w: BitWriter): void {
  w.bits(0, 2); // general_profile_space
  w.bit(0); // general_tier_flag
  w.bits(1, 5); // general_profile_idc: Main
  w.bits(0x60000000, 32); // compatible with Main (1) and Main 10 (2)
  w.bit(1); // general_progressive_source_flag
  w.bit(0); // general_interlaced_source_flag
  w.bit(0); // general_non_packed_constraint_flag
  w.bit(1); // general_frame_only_constraint_flag
  w.bits(0, 43); // general_reserved_zero_43bits
  w.bit(0); // general_reserved_zero_bit
  w.bits(186, 8); // general_level_idc = 30 × 6.2
}

/** The 12 bytes of profile_tier_level the hvcC box repeats. */
const PTL_BYTES = (() => {
  const w = new BitWriter();
  profileTierLevel(w);
  return w.toBytes();
})();

function vps(): Uint8Array {
  const w = new BitWriter();
  w.bits(0, 4); // vps_video_parameter_set_id
  w.bit(1); // vps_base_layer_internal_flag
  w.bit(1); // vps_base_layer_available_flag
  w.bits(0, 6); // vps_max_layers_minus1
  w.bits(0, 3); // vps_max_sub_layers_minus1
  w.bit(1); // vps_temporal_id_nesting_flag
  w.bits(0xffff, 16); // vps_reserved_0xffff_16bits
  profileTierLevel(w);
  w.bit(1); // vps_sub_layer_ordering_info_present_flag
  w.ue(0); // vps_max_dec_pic_buffering_minus1
  w.ue(0); // vps_max_num_reorder_pics
  w.ue(0); // vps_max_latency_increase_plus1
  w.bits(0, 6); // vps_max_layer_id
  w.ue(0); // vps_num_layer_sets_minus1
  w.bit(0); // vps_timing_info_present_flag
  w.bit(0); // vps_extension_flag
  w.trailingBits();
  return w.toBytes();
}

function sps(width: number, height: number, padRight: number, padBottom: number): Uint8Array {
  const w = new BitWriter();
  w.bits(0, 4); // sps_video_parameter_set_id
  w.bits(0, 3); // sps_max_sub_layers_minus1
  w.bit(1); // sps_temporal_id_nesting_flag
  profileTierLevel(w);
  w.ue(0); // sps_seq_parameter_set_id
  w.ue(1); // chroma_format_idc: 4:2:0
  w.ue(width + padRight); // pic_width_in_luma_samples (whole CTBs)
  w.ue(height + padBottom); // pic_height_in_luma_samples
  const crop = padRight > 0 || padBottom > 0;
  w.bit(crop ? 1 : 0); // conformance_window_flag
  if (crop) {
    // Offsets count chroma samples (SubWidthC = SubHeightC = 2 in 4:2:0).
    w.ue(0);
    w.ue(padRight / 2);
    w.ue(0);
    w.ue(padBottom / 2);
  }
  w.ue(0); // bit_depth_luma_minus8
  w.ue(0); // bit_depth_chroma_minus8
  w.ue(0); // log2_max_pic_order_cnt_lsb_minus4
  w.bit(1); // sps_sub_layer_ordering_info_present_flag
  w.ue(0); // sps_max_dec_pic_buffering_minus1
  w.ue(0); // sps_max_num_reorder_pics
  w.ue(0); // sps_max_latency_increase_plus1
  w.ue(0); // log2_min_luma_coding_block_size_minus3: 8×8
  w.ue(CTB_LOG2 - 3); // log2_diff_max_min_luma_coding_block_size: CTB 16×16
  w.ue(0); // log2_min_luma_transform_block_size_minus2: 4×4
  w.ue(CTB_LOG2 - 2); // log2_diff_max_min_luma_transform_block_size: 16×16
  w.ue(0); // max_transform_hierarchy_depth_inter
  w.ue(0); // max_transform_hierarchy_depth_intra
  w.bit(0); // scaling_list_enabled_flag
  w.bit(0); // amp_enabled_flag
  w.bit(0); // sample_adaptive_offset_enabled_flag
  w.bit(1); // pcm_enabled_flag
  w.bits(7, 4); // pcm_sample_bit_depth_luma_minus1: 8 bits
  w.bits(7, 4); // pcm_sample_bit_depth_chroma_minus1: 8 bits
  w.ue(CTB_LOG2 - 3); // log2_min_pcm_luma_coding_block_size_minus3: 16×16
  w.ue(0); // log2_diff_max_min_pcm_luma_coding_block_size
  w.bit(1); // pcm_loop_filter_disabled_flag
  w.ue(0); // num_short_term_ref_pic_sets
  w.bit(0); // long_term_ref_pics_present_flag
  w.bit(0); // sps_temporal_mvp_enabled_flag
  w.bit(0); // strong_intra_smoothing_enabled_flag
  w.bit(0); // vui_parameters_present_flag
  w.bit(0); // sps_extension_present_flag
  w.trailingBits();
  return w.toBytes();
}

function pps(): Uint8Array {
  const w = new BitWriter();
  w.ue(0); // pps_pic_parameter_set_id
  w.ue(0); // pps_seq_parameter_set_id
  w.bit(0); // dependent_slice_segments_enabled_flag
  w.bit(0); // output_flag_present_flag
  w.bits(0, 3); // num_extra_slice_header_bits
  w.bit(0); // sign_data_hiding_enabled_flag
  w.bit(0); // cabac_init_present_flag
  w.ue(0); // num_ref_idx_l0_default_active_minus1
  w.ue(0); // num_ref_idx_l1_default_active_minus1
  w.se(0); // init_qp_minus26
  w.bit(0); // constrained_intra_pred_flag
  w.bit(0); // transform_skip_enabled_flag
  w.bit(0); // cu_qp_delta_enabled_flag
  w.se(0); // pps_cb_qp_offset
  w.se(0); // pps_cr_qp_offset
  w.bit(0); // pps_slice_chroma_qp_offsets_present_flag
  w.bit(0); // weighted_pred_flag
  w.bit(0); // weighted_bipred_flag
  w.bit(0); // transquant_bypass_enabled_flag
  w.bit(0); // tiles_enabled_flag
  w.bit(0); // entropy_coding_sync_enabled_flag
  w.bit(0); // pps_loop_filter_across_slices_enabled_flag
  w.bit(1); // deblocking_filter_control_present_flag
  w.bit(0); // deblocking_filter_override_enabled_flag
  w.bit(1); // pps_deblocking_filter_disabled_flag
  w.bit(0); // pps_scaling_list_data_present_flag
  w.bit(0); // lists_modification_present_flag
  w.ue(0); // log2_parallel_merge_level_minus2
  w.bit(0); // slice_segment_header_extension_present_flag
  w.bit(0); // pps_extension_present_flag
  w.trailingBits();
  return w.toBytes();
}

/** 4:2:0 planes (BT.601 full range), padded to whole CTBs by repeating the edge. */
interface Planes {
  y: Uint8Array;
  cb: Uint8Array;
  cr: Uint8Array;
  /** Padded luma width and height. */
  width: number;
  height: number;
}

const clampByte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

function toPlanes(pixels: RgbPixels, width: number, height: number): Planes {
  const { data, channels } = pixels;
  const y = new Uint8Array(width * height);
  const cbFull = new Float32Array(width * height);
  const crFull = new Float32Array(width * height);
  for (let row = 0; row < height; row++) {
    const sy = Math.min(row, pixels.height - 1);
    for (let col = 0; col < width; col++) {
      const sx = Math.min(col, pixels.width - 1);
      const i = (sy * pixels.width + sx) * channels;
      const r = data[i] ?? 0;
      const g = data[i + 1] ?? 0;
      const b = data[i + 2] ?? 0;
      // ITU-T T.871 (JFIF) / BT.601 full-range matrix.
      const o = row * width + col;
      y[o] = clampByte(0.299 * r + 0.587 * g + 0.114 * b);
      cbFull[o] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
      crFull[o] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    }
  }
  const cw = width / 2;
  const ch = height / 2;
  const cb = new Uint8Array(cw * ch);
  const cr = new Uint8Array(cw * ch);
  for (let row = 0; row < ch; row++) {
    for (let col = 0; col < cw; col++) {
      const a = 2 * row * width + 2 * col;
      const quad = [a, a + 1, a + width, a + width + 1];
      cb[row * cw + col] = clampByte(quad.reduce((s, k) => s + (cbFull[k] ?? 0), 0) / 4);
      cr[row * cw + col] = clampByte(quad.reduce((s, k) => s + (crFull[k] ?? 0), 0) / 4);
    }
  }
  return { y, cb, cr, width, height };
}

function block(plane: Uint8Array, stride: number, x0: number, y0: number, size: number) {
  const out = new Uint8Array(size * size);
  for (let row = 0; row < size; row++) {
    out.set(plane.subarray((y0 + row) * stride + x0, (y0 + row) * stride + x0 + size), row * size);
  }
  return out;
}

/** The IDR slice segment: header, then one PCM coding unit per CTB. */
function slice(planes: Planes): Uint8Array {
  const w = new BitWriter();
  w.bit(1); // first_slice_segment_in_pic_flag
  w.bit(0); // no_output_of_prior_pics_flag (IRAP)
  w.ue(0); // slice_pic_parameter_set_id
  w.ue(2); // slice_type: I
  w.se(0); // slice_qp_delta: SliceQpY = 26
  w.bit(1); // byte_alignment(): alignment_bit_equal_to_one …
  w.alignZero(); // … then zeros
  const cabac = new CabacEncoder(w);
  // split_cu_flag, ctxInc 0 (no neighbour is deeper than depth 0), initType 0: initValue 139.
  const split = initContext(139, 26);
  const columns = planes.width / CTB;
  const rows = planes.height / CTB;
  const half = CTB / 2;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      cabac.decision(split, 0); // split_cu_flag: one 16×16 coding unit
      // part_mode is not coded (intra, larger than the minimum CU): PART_2Nx2N.
      cabac.terminate(1); // pcm_flag
      w.alignZero(); // pcm_alignment_zero_bit
      w.byteArray(block(planes.y, planes.width, c * CTB, r * CTB, CTB));
      w.byteArray(block(planes.cb, planes.width / 2, c * half, r * half, half));
      w.byteArray(block(planes.cr, planes.width / 2, c * half, r * half, half));
      cabac.reset();
      cabac.terminate(r === rows - 1 && c === columns - 1 ? 1 : 0); // end_of_slice_segment_flag
    }
  }
  w.alignZero(); // rbsp_slice_segment_trailing_bits: the stop bit was the flush's last bit
  return w.toBytes();
}

/** NAL unit: header (layer 0, temporal id 0) + payload with emulation prevention (H.265 §7.4.2). */
function nal(type: number, rbsp: Uint8Array): Uint8Array {
  const out: number[] = [type << 1, 1];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

const NAL = { idrWRadl: 19, vps: 32, sps: 33, pps: 34 } as const;

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
  const padRight = (CTB - (width % CTB)) % CTB;
  const padBottom = (CTB - (height % CTB)) % CTB;
  const planes = toPlanes(pixels, width + padRight, height + padBottom);
  const sliceNal = nal(NAL.idrWRadl, slice(planes));
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
          hvcC([
            { type: NAL.vps, unit: nal(NAL.vps, vps()) },
            { type: NAL.sps, unit: nal(NAL.sps, sps(width, height, padRight, padBottom)) },
            { type: NAL.pps, unit: nal(NAL.pps, pps()) },
          ]),
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
