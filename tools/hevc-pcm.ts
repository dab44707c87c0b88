/**
 * The HEVC side of tools/heic-writer.ts: one intra (IDR) picture whose
 * 16×16 coding units are all PCM-coded (samples stored raw, ITU-T H.265
 * §7.3.8.7), with its VPS, SPS and PPS; see heic-writer.ts for why.
 */

import { BitWriter, CabacEncoder, initContext } from './hevc-entropy.ts';

/** RGB(A) pixels, row-major, 8 bits per channel; alpha is ignored. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** Coding tree block (= coding unit = PCM block) size: 16×16 luma samples. */
const CTB_LOG2 = 4;
const CTB = 1 << CTB_LOG2;

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
export const PTL_BYTES = (() => {
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

/** One picture's NAL units: its parameter sets (for `hvcC`) and its slice. */
export interface PcmPicture {
  parameterSets: { type: number; unit: Uint8Array }[];
  slice: Uint8Array;
}

/**
 * Codes `pixels` (even, positive dimensions, checked by the caller) as one
 * PCM picture, padded to whole 16×16 blocks and cropped back by the SPS
 * conformance window.
 */
export function encodePcmPicture(pixels: RgbPixels): PcmPicture {
  const { width, height } = pixels;
  const padRight = (CTB - (width % CTB)) % CTB;
  const padBottom = (CTB - (height % CTB)) % CTB;
  const planes = toPlanes(pixels, width + padRight, height + padBottom);
  return {
    parameterSets: [
      { type: NAL.vps, unit: nal(NAL.vps, vps()) },
      { type: NAL.sps, unit: nal(NAL.sps, sps(width, height, padRight, padBottom)) },
      { type: NAL.pps, unit: nal(NAL.pps, pps()) },
    ],
    slice: nal(NAL.idrWRadl, slice(planes)),
  };
}
