/**
 * Presets as data: the schema of a preset file (`packages/imaging/presets.json`
 * is the one in the repository; `PRESETS_FILE` names another), its
 * validation — every problem listed at once, with its path — and each
 * preset's version, a hash of its content. Pure (zod and node:crypto): the
 * backend validates the file at start without loading sharp
 * (`@slideshow/imaging/presets`).
 *
 * A preset's name is part of its variants' keys and its version is recorded
 * with every image, so an edited preset is a new version: images made with
 * another version are what a regeneration re-makes (docs/operations.md,
 * "Presets and regeneration").
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError } from '@slideshow/runtime';
import * as z from 'zod';
import type { Preset } from './presets.ts';
import { MAX_VARIANT_SIDE } from './variant-size.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const quality = int(1, 100);
// No wider than every encoder writes (WebP's 16383 px): a wider variant would always fail.
const width = int(1, MAX_VARIANT_SIDE);

/** Ascending, distinct widths. */
const Widths = z
  .array(width)
  .min(1)
  .max(16)
  .refine((w) => w.every((v, i) => i === 0 || v > (w[i - 1] ?? 0)), {
    message: 'widths must be ascending and distinct',
  });

// Encoder options: sharp's, restricted to those the pipeline is known to use
// (https://sharp.pixelplumbing.com/api-output), with sharp's documented
// ranges; `.strict()` lists a misspelt key instead of ignoring it.
const Avif = z
  .object({
    quality,
    effort: int(0, 9),
    lossless: z.boolean(),
    chromaSubsampling: z.enum(['4:4:4', '4:2:0']),
    bitdepth: z.union([z.literal(8), z.literal(10), z.literal(12)]),
  })
  .partial()
  .strict();
const Webp = z
  .object({
    quality,
    alphaQuality: int(0, 100),
    effort: int(0, 6),
    lossless: z.boolean(),
    nearLossless: z.boolean(),
    smartSubsample: z.boolean(),
    smartDeblock: z.boolean(),
    preset: z.enum(['default', 'photo', 'picture', 'drawing', 'icon', 'text']),
  })
  .partial()
  .strict();
const Jpeg = z
  .object({
    quality,
    progressive: z.boolean(),
    chromaSubsampling: z.enum(['4:4:4', '4:2:0']),
    optimiseCoding: z.boolean(),
    mozjpeg: z.boolean(),
    trellisQuantisation: z.boolean(),
    overshootDeringing: z.boolean(),
    optimiseScans: z.boolean(),
    quantisationTable: int(0, 8),
  })
  .partial()
  .strict();
const Png = z
  .object({
    compressionLevel: int(0, 9),
    adaptiveFiltering: z.boolean(),
    progressive: z.boolean(),
    palette: z.boolean(),
    quality,
    effort: int(1, 10),
    colours: int(2, 256),
    dither: z.number().min(0).max(1),
  })
  .partial()
  .strict();

/**
 * How one format's setting is searched; `fast` is that format's options (a
 * misspelt or foreign key is listed, as in the preset's own options) with a
 * quality, which the search replaces.
 */
const formatSearch = <F extends { quality: number }>(fast: z.ZodType<F>) =>
  z
    .object({
      /** The searched setting; its `quality` is replaced by the searched one. */
      fast,
      /** Qualities searched, inclusive. */
      min: quality,
      max: quality,
      /** Qualities encoded at once when the search starts; it starts at the first. */
      start: z.array(quality).max(8),
      /** On the probe the searched setting may take at most this multiple of the baseline's bytes. */
      maxBytesRatio: z.number().min(1).max(4),
    })
    .strict()
    .refine((s) => s.min <= s.max, { message: 'min must not exceed max', path: ['min'] })
    .refine((s) => s.fast.quality >= s.min && s.fast.quality <= s.max, {
      message: 'fast.quality must lie within min..max',
      path: ['fast', 'quality'],
    })
    .refine((s) => s.start.every((q) => q >= s.min && q <= s.max), {
      message: 'start qualities must lie within min..max',
      path: ['start'],
    })
    .refine((s) => new Set(s.start).size === s.start.length, {
      message: 'start qualities must not repeat',
      path: ['start'],
    });

// Formats with a searched setting (PNG has no quality to search).
const SearchedFormats = z
  .object({
    avif: formatSearch(Avif.required({ quality: true })),
    webp: formatSearch(Webp.required({ quality: true })),
    jpeg: formatSearch(Jpeg.required({ quality: true })),
  })
  .partial()
  .strict();

const QualitySearch = z
  .object({
    baseline: z.string().min(1),
    probeWidth: width,
    probeCrop: int(16, 4096),
    margin: z.number().min(0).max(20),
    /** Share of the baseline's probe bytes left unused; below 1, or nothing could fit. */
    byteMargin: z.number().min(0).lt(1),
    maxProbes: int(1, 8),
    /** Variant pixels (all widths of one format) below which there is no search. */
    minPixels: int(0, 1_000_000_000),
    slope: z.number().positive().max(20),
    /** Formats with a faster setting searched per image, in the order they are decided. */
    speed: SearchedFormats,
    /** Formats whose preset options pay for the speed formats' bytes; their quality may be lowered. */
    payers: SearchedFormats,
  })
  .strict()
  .superRefine((search, ctx) => {
    // A format either buys speed with bytes or pays for it, never both.
    for (const format of Object.keys(search.payers)) {
      if (Object.hasOwn(search.speed, format)) {
        ctx.addIssue({
          code: 'custom',
          path: ['payers', format],
          message: `${format} is also a speed format`,
        });
      }
    }
  });

/** One preset as written in a preset file (its name is its key in the file). */
export const PresetDefinition = z
  .object({
    /** Target widths, ascending; never upscaled. */
    widths: Widths,
    /** Modern formats written for each width, besides the JPEG/PNG fallback. */
    modern: z
      .array(z.enum(['avif', 'webp']))
      .max(2)
      .refine((m) => new Set(m).size === m.length, { message: 'formats must not repeat' }),
    /** Whether a JPEG (or PNG when the image has alpha) is written for each width. */
    fallback: z.boolean(),
    colour: z.enum(['srgb', 'keep-display-p3']),
    avif: Avif,
    webp: Webp,
    jpeg: Jpeg,
    png: Png,
    /** Whether a ThumbHash placeholder is computed. */
    placeholder: z.boolean(),
    /** Animated GIF/WebP: `webp` keeps the animation (plus a still poster), `still` keeps the first frame only. */
    animated: z.enum(['webp', 'still']),
    animatedWidths: Widths,
    animatedWebp: Webp,
    /**
     * Never store a variant that is not smaller than the next wider one of its
     * format (or than a web-ready original, for the widest): the manifest
     * points that width at the better file instead.
     */
    neverLarger: z.boolean(),
    qualitySearch: QualitySearch.nullable(),
  })
  .strict()
  .refine((p) => p.modern.length > 0 || p.fallback, {
    message: 'a preset must write at least one format (modern formats or the fallback)',
    path: ['modern'],
  });
/** One preset as written in a preset file. */
export type PresetDefinition = z.infer<typeof PresetDefinition>;

// Names are part of storage keys (`variants/<id>/<preset>/g<N>/`): the key grammar's shape.
const PresetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'preset names are 1-64 of [a-z0-9._-]');

/** A preset file: every preset by name, and the one used when none is chosen. */
export const PresetFile = z
  .object({
    default: PresetName,
    presets: z.record(PresetName, PresetDefinition),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (!Object.hasOwn(file.presets, file.default)) {
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: `names no preset of this file (${Object.keys(file.presets).join(', ')})`,
      });
    }
    for (const [name, preset] of Object.entries(file.presets)) {
      const baseline = preset.qualitySearch?.baseline;
      if (baseline === undefined) continue;
      const target = file.presets[baseline];
      if (!target) {
        ctx.addIssue({
          code: 'custom',
          path: ['presets', name, 'qualitySearch', 'baseline'],
          message: `names no preset of this file: ${JSON.stringify(baseline)}`,
        });
      } else if (target.qualitySearch !== null) {
        ctx.addIssue({
          code: 'custom',
          path: ['presets', name, 'qualitySearch', 'baseline'],
          message: `the baseline ${baseline} must have fixed options (no qualitySearch)`,
        });
      }
    }
  });

/** The validated presets of one file. */
export interface PresetSet {
  /** Where they were read from (messages, logs). */
  source: string;
  /** The preset used when none is named. */
  default: string;
  presets: Readonly<Record<string, Preset>>;
}

/**
 * Validates a parsed preset file. Throws AppError `VALIDATION_FAILED` whose
 * message lists every problem (`path: message`), so one start shows them all.
 */
export function parsePresetFile(raw: unknown, source: string): PresetSet {
  const parsed = PresetFile.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.length > 0 ? i.path.join('.') : '(file)'}: ${i.message}`,
    );
    throw new AppError(
      'VALIDATION_FAILED',
      `invalid preset file ${source}: ${problems.length} problem(s): ${problems.join('; ')}`,
      { context: { source, problems } },
    );
  }
  const presets: Record<string, Preset> = {};
  for (const [name, definition] of Object.entries(parsed.data.presets)) {
    presets[name] = Object.freeze({ name, ...definition } as Preset);
  }
  return { source, default: parsed.data.default, presets: Object.freeze(presets) };
}

/** Reads and validates a preset file; a file that cannot be read or parsed is VALIDATION_FAILED too. */
export function loadPresetFile(path: string): PresetSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `cannot read preset file ${path}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `preset file ${path} is not JSON`, { cause: error });
  }
  return parsePresetFile(raw, path);
}

/** Looks a preset up by name; throws a TypeError naming the known ones. */
export function presetFrom(set: Pick<PresetSet, 'presets' | 'source'>, name: string): Preset {
  const preset = Object.hasOwn(set.presets, name) ? set.presets[name] : undefined;
  if (!preset) {
    throw new TypeError(
      `Expected one of ${Object.keys(set.presets).join(', ')} for preset but received ${JSON.stringify(name)}`,
    );
  }
  return preset;
}

/** JSON with object keys sorted at every level: the same content always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The presets one image's processing needs: the preset and, when it searches
 * qualities against a baseline, that baseline. This is what a job spec
 * carries to the processor, and what a version hashes.
 */
export function presetClosure(
  set: Pick<PresetSet, 'presets' | 'source'>,
  name: string,
): Record<string, Preset> {
  const preset = presetFrom(set, name);
  const baseline = preset.qualitySearch?.baseline;
  return baseline === undefined
    ? { [name]: preset }
    : { [name]: preset, [baseline]: presetFrom(set, baseline) };
}

/**
 * A preset's version: the first 16 hex digits of the sha256 of the canonical
 * JSON of its closure (itself and its baseline, names included). Any change to
 * a setting that shapes the output gives a new version; reformatting the file
 * or reordering keys does not.
 */
export function presetVersion(set: Pick<PresetSet, 'presets' | 'source'>, name: string): string {
  return closureVersion(presetClosure(set, name));
}

/** {@link presetVersion} of a closure a job spec carried. */
export function closureVersion(closure: Record<string, Preset>): string {
  return createHash('sha256').update(canonicalJson(closure)).digest('hex').slice(0, 16);
}
