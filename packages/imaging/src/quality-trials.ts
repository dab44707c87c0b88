/**
 * The probe encodes of the quality search (quality-search.ts): memoised by
 * format and options, so that the search can start the encodes it will most
 * likely need at once and ask for them again freely.
 */
import {
  type EncoderOptions,
  encodeResized,
  type OutputFormat,
  type Resized,
  type VariantOutput,
} from './encode.ts';
import type { ProbeScorer } from './probe-search.ts';

/** One encode of the probe, its bytes started at once and its score computed on demand. */
export interface Trial {
  options: EncoderOptions;
  encoded: Promise<VariantOutput>;
  score(): Promise<number>;
}

/**
 * Encodes of the probe per format, memoised by options, with scores computed
 * lazily and shared between byte-identical outputs.
 */
export function createTrials(probe: Resized, scorer: ProbeScorer) {
  const trials = new Map<string, Trial>();
  const scored: { data: Buffer; score: Promise<number> }[] = [];
  return (format: OutputFormat, options: EncoderOptions): Trial => {
    const key = `${format}:${JSON.stringify(options)}`;
    const known = trials.get(key);
    if (known) return known;
    const encoded = encodeResized(probe, format, options);
    // Marked handled: awaited by whoever needs its bytes or score; an encode
    // started ahead and never needed must not fail the process.
    encoded.catch(() => undefined);
    let score: Promise<number> | undefined;
    const trial: Trial = {
      options,
      encoded,
      score: () => {
        score ??= encoded.then(({ data }) => {
          const same = scored.find((s) => s.data.equals(data));
          if (same) return same.score;
          const computed = scorer(data);
          scored.push({ data, score: computed });
          return computed;
        });
        return score;
      },
    };
    trials.set(key, trial);
    return trial;
  };
}

/** The size of a trial's encode. */
export const bytesOf = async (trial: Trial): Promise<number> => (await trial.encoded).data.length;
