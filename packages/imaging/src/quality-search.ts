/**
 * Content-aware settings: per image, choose each format's encoder setting from
 * cheap encodes of one small piece of it (the "probe"), so that every format
 * keeps the perceptual score (SSIMULACRA 2) that a baseline preset reaches on
 * the same pixels, all formats together take no more bytes than the
 * baseline's, and as much encode time as possible is saved. The idea is
 * Cloudinary's `q_auto` (pick the quality per image from a perceptual target
 * rather than one number for every image); here the target is relative: what
 * the baseline gives this image.
 *
 * Formats play one of two parts (presets.ts, `QualitySearch`):
 * - **speed** formats (AVIF, WebP) have a faster setting that needs a little
 *   more bytes for the same score: its lowest passing quality is searched, and
 *   it is taken only when the bytes fit the budget, else the format keeps the
 *   baseline's (slower, never worse or larger) setting;
 * - **payers** (JPEG, PNG) use the preset's own options, which save bytes
 *   against the baseline at an equal or higher score on the photos they were
 *   chosen on (a smaller JPEG quantisation table, a higher PNG deflate level);
 *   when a speed format is short of bytes, a payer's quality is lowered step
 *   by step while it still scores at least the baseline's. A payer the search
 *   decides (the JPEG, not the PNG that encodes while it runs) keeps its
 *   preset options only when the first speed format takes its faster
 *   setting; otherwise it takes the baseline's, so the image gets the
 *   baseline's own encodes for it, whatever the preset's options would do on
 *   its content (they can lose on noise-dominated images, and the probe
 *   cannot tell: docs/performance.md, "Without ../shared").
 *
 * Scores are computed only when a decision needs them (each costs a
 * comparison in JavaScript), and encodes that come out byte-identical (two
 * qualities that map to one quantiser) share a score.
 */
import type { EncoderOptions, OutputFormat, Resized } from './encode.ts';
import { canonicalJson, presetFrom } from './preset-config.ts';
import { type FormatSearch, PRESETS, type Preset, type QualitySearch } from './presets.ts';
import {
  createProbeScorer,
  type ProbeEncode,
  type ProbeScorer,
  searchQuality,
} from './probe-search.ts';
import { bytesOf, createTrials, type Trial } from './quality-trials.ts';

/** Formats whose setting can be searched. */
export type SearchedFormat = 'avif' | 'webp' | 'jpeg';

/** What the search chose for one format, and why. */
export interface FormatChoice {
  format: OutputFormat;
  /** The options every variant of this format is encoded with. */
  options: EncoderOptions;
  /**
   * `search`: a searched quality of the preset's setting; `preset`: the
   * preset's own options (a fixed format such as web-v3's PNG, or a payer
   * kept because the first speed format took its faster setting, not
   * lowered); `reference`: the baseline preset's options (a speed format's
   * fallback, a payer released because no speed format took its faster
   * setting, or a format whose options are the baseline's).
   */
  source: 'search' | 'preset' | 'reference';
  /**
   * The baseline's setting on the probe: its score when a decision needed it,
   * its bytes unless the format is {@link fixedFormats fixed} with the
   * baseline's own options (then its bytes are the same on both sides of the
   * budget and it is not encoded).
   */
  reference: { bytes?: number; score?: number };
  /** Every scored encode of the searched setting, in the order tried. */
  probes: ProbeEncode[];
}

/** Options, callbacks and injectable parts of {@link chooseQualities}. */
export interface ChooseOptions {
  /** Scores encodings of the probe (default: SSIMULACRA 2 against the probe's own pixels). */
  scorer?: ProbeScorer;
  /** Told each format's choice as soon as it is final (its variants can start then). */
  onChoice?: (choice: FormatChoice) => void;
  /**
   * Where the baseline is looked up: a job spec's closure (preset-config.ts
   * `presetClosure`); default the repository's preset file.
   */
  presets?: Readonly<Record<string, Preset>>;
}

/**
 * The order speed formats are decided in (most encode time saved first, so
 * the first may lower the payers): fixed here rather than taken from the
 * preset file's key order, which a preset's version does not hash
 * (preset-config.ts `canonicalJson` sorts keys).
 */
const SPEED_ORDER: readonly SearchedFormat[] = ['avif', 'webp', 'jpeg'];

/**
 * The formats whose options the search never changes (neither speed formats
 * nor payers with a range): they keep the preset's options, so their variants
 * can start before the search ends.
 */
export function fixedFormats(
  search: QualitySearch,
  formats: readonly OutputFormat[],
): OutputFormat[] {
  return formats.filter(
    (f) =>
      search.speed[f as SearchedFormat] === undefined &&
      search.payers[f as SearchedFormat] === undefined,
  );
}

/** Whether two encoder settings are the same (key order aside). */
const sameOptions = (a: EncoderOptions, b: EncoderOptions): boolean =>
  canonicalJson(a) === canonicalJson(b);

/** A choice's `options` as written: the fast setting of a searched format at `quality`. */
function fastAt(spec: FormatSearch, quality: number): EncoderOptions {
  return { ...spec.fast, quality };
}

/** What one image's search shares between its steps (built by {@link startSearch}). */
interface SearchState {
  search: QualitySearch;
  /** The searched speed formats this image gets, in {@link SPEED_ORDER}. */
  speed: SearchedFormat[];
  /** The other formats, which may pay bytes for the first speed format. */
  payers: OutputFormat[];
  /** The payers the search never changes ({@link fixedFormats}). */
  fixed: OutputFormat[];
  /** The formats whose bytes the budget counts (all but the fixed ones with the baseline's options). */
  counted: OutputFormat[];
  trial: (format: OutputFormat, options: EncoderOptions) => Trial;
  /** Each counted format's encode with the baseline's options. */
  reference: Map<OutputFormat, Trial>;
  referenceBytes: Map<OutputFormat, number>;
  /** The bytes the counted formats together may take. */
  budget: number;
  /** What each format uses so far: payers their preset options, speed formats the baseline's. */
  chosen: Map<OutputFormat, FormatChoice>;
}

/**
 * Chooses the encoder options of each of `formats` (the formats this image
 * gets) from encodes of `probe`, per `preset.qualitySearch` (see the top of
 * this file). Formats the search does not cover keep the preset's options.
 */
export async function chooseQualities(
  probe: Resized,
  preset: Preset,
  formats: readonly OutputFormat[],
  options: ChooseOptions = {},
): Promise<FormatChoice[]> {
  const search = preset.qualitySearch;
  if (!search) return [];
  const state = await startSearch(probe, preset, search, formats, options);
  const { speed, payers, fixed, chosen } = state;
  const payersFinal = (): void => {
    for (const format of payers) {
      if (!fixed.includes(format)) options.onChoice?.(chosen.get(format) as FormatChoice);
    }
  };
  // Speed formats in the preset's order (most encode time saved first).
  for (const [index, format] of speed.entries()) {
    await decideSpeedFormat(state, format, index);
    options.onChoice?.(chosen.get(format) as FormatChoice);
    // Only the first speed format may lower the payers: after it they are final.
    if (index === 0) {
      releaseUnneededPayers(state);
      payersFinal();
    }
  }
  if (speed.length === 0) {
    releaseUnneededPayers(state);
    payersFinal();
  }
  return [...chosen.values()];
}

/**
 * Starts every encode the search will most likely need, tells the fixed
 * formats' choices at once, measures the baseline's bytes (the budget) and
 * sets each format's starting choice.
 */
async function startSearch(
  probe: Resized,
  preset: Preset,
  search: QualitySearch,
  formats: readonly OutputFormat[],
  options: ChooseOptions,
): Promise<SearchState> {
  const trial = createTrials(probe, options.scorer ?? createProbeScorer(probe));
  const baseline = presetFrom(
    { presets: options.presets ?? PRESETS, source: 'presets' },
    search.baseline,
  );
  const speed = SPEED_ORDER.filter((f) => search.speed[f] !== undefined && formats.includes(f));
  const payers = formats.filter((f) => !speed.includes(f as SearchedFormat));
  const fixed = fixedFormats(search, formats);
  // A fixed format with the baseline's own options takes the same bytes on
  // both sides of the budget: it is not encoded (web-v3's WebP).
  const counted = formats.filter((f) => !fixed.includes(f) || !sameOptions(preset[f], baseline[f]));

  // Every encode the search will most likely need, started at once: the
  // baseline's and the preset's setting of each counted format, and each
  // speed format's first qualities.
  const reference = new Map(counted.map((f) => [f, trial(f, baseline[f])]));
  for (const format of counted) if (payers.includes(format)) trial(format, preset[format]);
  for (const format of speed) {
    const spec = search.speed[format] as FormatSearch;
    for (const quality of spec.start) trial(format, fastAt(spec, quality));
  }

  // What each format uses so far: payers their preset options, speed formats the baseline's.
  const chosen = new Map<OutputFormat, FormatChoice>();
  for (const format of formats) {
    const isPayer = payers.includes(format);
    const own = isPayer ? preset[format] : baseline[format];
    chosen.set(format, {
      format,
      options: own,
      source: isPayer && !sameOptions(own, baseline[format]) ? 'preset' : 'reference',
      reference: {},
      probes: [],
    });
  }
  // The fixed formats are final already: their variants need not wait for the encodes.
  for (const format of fixed) options.onChoice?.(chosen.get(format) as FormatChoice);

  const referenceBytes = new Map<OutputFormat, number>();
  for (const format of counted) {
    const bytes = await bytesOf(reference.get(format) as Trial);
    referenceBytes.set(format, bytes);
    (chosen.get(format) as FormatChoice).reference.bytes = bytes;
  }
  const budget = [...referenceBytes.values()].reduce((a, b) => a + b, 0) * (1 - search.byteMargin);
  return {
    search,
    speed,
    payers,
    fixed,
    counted,
    trial,
    reference,
    referenceBytes,
    budget,
    chosen,
  };
}

/** The bytes the counted formats' current choices take together. */
async function usedBytes({ chosen, trial, counted }: SearchState): Promise<number> {
  let total = 0;
  for (const format of counted) {
    const choice = chosen.get(format) as FormatChoice;
    total += await bytesOf(trial(format, choice.options));
  }
  return total;
}

/** The baseline's score for `format`, also recorded in its choice. */
async function referenceScore(state: SearchState, format: OutputFormat): Promise<number> {
  const score = await (state.reference.get(format) as Trial).score();
  (state.chosen.get(format) as FormatChoice).reference.score = score;
  return score;
}

/**
 * Decides one speed format: searches its lowest quality that reaches the
 * baseline's score, and takes it when its bytes fit the budget (the first
 * speed format, `index` 0, may make room by lowering the payers).
 */
async function decideSpeedFormat(
  state: SearchState,
  format: SearchedFormat,
  index: number,
): Promise<void> {
  const { search, payers, trial } = state;
  const spec = search.speed[format] as FormatSearch;
  const choice = state.chosen.get(format) as FormatChoice;
  const referenceSize = state.referenceBytes.get(format) ?? 0;
  const headroom = state.budget - (await usedBytes(state));
  // Only the first speed format may lower the payers' quality to make room.
  const canFree = index === 0 && payers.some((f) => search.payers[f as SearchedFormat]);
  const byteCap = referenceSize * spec.maxBytesRatio;
  const first = spec.start[0] ?? spec.min;
  const fastBytes = await bytesOf(trial(format, fastAt(spec, first)));
  // Even its first quality does not fit: no score is worth computing.
  if (!canFree && fastBytes - referenceSize > headroom) return;
  // Its lowest quality already takes more than the cap (a flat graphic at
  // AVIF effort 0: +70 %): no quality can be taken, so none is scored.
  if (first === spec.min && fastBytes > byteCap) return;
  const target = (await referenceScore(state, format)) + search.margin;
  const probes = await searchQuality(
    spec.start[0] ?? spec.min,
    target,
    { min: spec.min, max: spec.max, maxProbes: search.maxProbes, slope: search.slope, byteCap },
    async (quality) => {
      const t = trial(format, fastAt(spec, quality));
      return { quality, bytes: await bytesOf(t), score: await t.score() };
    },
  );
  choice.probes = probes;
  const best = probes.filter((p) => p.score >= target).sort((a, b) => a.quality - b.quality)[0];
  if (!best || best.bytes > byteCap) return;
  const extra = best.bytes - referenceSize;
  const fits = extra <= headroom || (canFree && (await makeRoom(state, extra - headroom)));
  if (fits) {
    choice.options = fastAt(spec, best.quality);
    choice.source = 'search';
  }
}

/**
 * When the first speed format kept the baseline's setting, puts each payer
 * still on its preset options back on the baseline's: nothing needs its
 * savings, and the image then gets the baseline's own encodes for that
 * format, whatever the preset's options would do on its content. When the
 * faster setting was taken, the payers keep their options even if the probe
 * says the set would fit without them: the probe only predicts the whole
 * set's bytes, and the payers' savings are the cushion (`byteMargin` is 0 in
 * web-v3). Later speed formats find no room in a released payer.
 */
function releaseUnneededPayers(state: SearchState): void {
  const { speed, payers, fixed, chosen, reference } = state;
  if (speed.some((f) => chosen.get(f)?.source === 'search')) return;
  for (const format of payers) {
    const choice = chosen.get(format) as FormatChoice;
    const baseline = reference.get(format);
    if (fixed.includes(format) || choice.source !== 'preset' || !baseline) continue;
    choice.options = baseline.options;
    choice.source = 'reference';
  }
}

/**
 * Lowers the payers' qualities, one step at a time and only while each
 * still reaches its baseline score, until `needed` more bytes are free.
 * Returns whether they are; lowered payers keep their lower quality.
 */
async function makeRoom(state: SearchState, needed: number): Promise<boolean> {
  const { search, payers, chosen, trial } = state;
  const before = payers.map((f) => ({ ...(chosen.get(f) as FormatChoice) }));
  let free = 0;
  for (const format of payers) {
    const spec = search.payers[format as SearchedFormat];
    if (!spec) continue;
    const choice = chosen.get(format) as FormatChoice;
    const target = (await referenceScore(state, format)) + search.margin;
    let current = await bytesOf(trial(format, choice.options));
    const top = (choice.options as { quality?: number }).quality ?? spec.max;
    // Bounded by the quality range.
    for (let quality = top - 1; quality >= spec.min && free < needed; quality--) {
      const lower = trial(format, fastAt(spec, quality));
      const score = await lower.score();
      choice.probes.push({ quality, bytes: await bytesOf(lower), score });
      if (score < target) break;
      const bytes = await bytesOf(lower);
      free += current - bytes;
      current = bytes;
      choice.options = lower.options;
      choice.source = 'search';
    }
    if (free >= needed) return true;
  }
  // Not enough: the payers go back to their preset options (their lower
  // qualities would cost score headroom for nothing).
  for (const saved of before) chosen.set(saved.format, { ...saved, probes: [] });
  return false;
}
