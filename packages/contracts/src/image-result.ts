import * as z from 'zod';

/** Output formats a preset can produce. */
export const VariantFormat = z.enum(['avif', 'webp', 'jpeg', 'png']);
export type VariantFormat = z.infer<typeof VariantFormat>;

/**
 * One written variant. `suffix` is appended to the image's variant prefix to
 * form the storage key (e.g. `w640.avif`); it is derived from preset, width and
 * format, never from user input.
 */
export const Variant = z.object({
  suffix: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  format: VariantFormat,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
  animated: z.boolean().default(false),
  /** `poster` is the still first frame of an animated image. */
  role: z.enum(['image', 'poster']).default('image'),
  /**
   * The preset's "never larger" rule (packages/imaging never-larger.ts):
   * `wider` — this width was not stored, `suffix` names the wider file of the
   * same format that serves it (as small or smaller); `original` — written
   * only by earlier versions, which stored a web-ready original's image data
   * (no longer made: every stored byte is an encoder's output).
   */
  reuse: z.enum(['wider', 'original']).optional(),
});
export type Variant = z.infer<typeof Variant>;

/** What processing one image produced: the record the backend stores. */
export const ImageResult = z.object({
  preset: z.string().min(1),
  /** The preset's content hash (packages/imaging preset-config.ts `presetVersion`), when the processor knew it. */
  presetVersion: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
  /** Dimensions after EXIF orientation. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Source format as sniffed from magic bytes. */
  format: z.string().min(1),
  hasAlpha: z.boolean(),
  frames: z.number().int().positive(),
  /** ThumbHash of the image, base64; null when the preset turns placeholders off. */
  placeholder: z.string().min(1).nullable(),
  /** Dominant colour as `#rrggbb`. */
  dominantColor: z.string().regex(/^#[0-9a-f]{6}$/),
  variants: z.array(Variant).min(1),
  /** Milliseconds spent per phase, for the admin detail view. */
  timings: z.record(z.string(), z.number().nonnegative()).default({}),
});
export type ImageResult = z.infer<typeof ImageResult>;
