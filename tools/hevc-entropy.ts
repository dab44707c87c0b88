/**
 * The bit-level writers of tools/hevc-pcm.ts: a bit writer with the
 * Exp-Golomb codes of H.265 §9.2, and the CABAC encoder of H.265 §9.3.4
 * (its flush is the one of H.264 §9.3.4.5) with its context initialisation.
 */

/** Writes bits most significant first; Exp-Golomb codes of H.265 §9.2. */
export class BitWriter {
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
export interface Context {
  pStateIdx: number;
  valMps: number;
}

/**
 * Context initialisation of H.265 §9.3.2.2 for `initValue` at slice QP `qp`.
 */
export function initContext(initValue: number, qp: number): Context {
  const m = (initValue >> 4) * 5 - 45;
  const n = ((initValue & 15) << 3) - 16;
  const pre = Math.min(126, Math.max(1, ((m * Math.min(51, Math.max(0, qp))) >> 4) + n));
  return pre <= 63 ? { pStateIdx: 63 - pre, valMps: 0 } : { pStateIdx: pre - 64, valMps: 1 };
}

/** The CABAC arithmetic encoder (H.264 §9.3.4.2–9.3.4.6, used unchanged by H.265). */
export class CabacEncoder {
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
