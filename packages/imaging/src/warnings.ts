/**
 * What processImage tells its caller about an accepted image whose variants
 * keep less than the upload holds. The ImageResult contract has no place for
 * notes, so the caller logs them (the processor and the CLI as warnings).
 */
import type { ProbeResult } from './probe-header.ts';

/** The kinds of warning, a closed list. */
export const IMAGE_WARNING_CODES = ['APNG_ANIMATION_DROPPED'] as const;

/** One warning about an accepted image. */
export interface ImageWarning {
  code: (typeof IMAGE_WARNING_CODES)[number];
  /** A sentence for an operator's log. */
  message: string;
  context: Record<string, unknown>;
}

/**
 * The warnings `info` calls for: an APNG becomes a still of its default image, because
 * the libvips of sharp 0.35 (8.18, with libpng 1.6) reads a PNG's `IDAT` only and no APNG
 * frame; APNG load comes with libvips 8.19 built against libpng 1.8
 * (https://github.com/libvips/libvips/pull/5122).
 */
export function warningsFor(info: ProbeResult): ImageWarning[] {
  const { apng } = info;
  if (!apng) return [];
  const kept =
    apng.defaultImageAnimated === false
      ? 'its default image, which is not part of the animation (what viewers without APNG support show)'
      : apng.defaultImageAnimated
        ? "its default image, the animation's first frame"
        : 'its default image';
  return [
    {
      code: 'APNG_ANIMATION_DROPPED',
      message: `An animated PNG (APNG) of ${apng.frames} frames is processed as a still: its variants keep only ${kept}; animated variants are made from GIF and WebP only`,
      context: { frames: apng.frames, defaultImageAnimated: apng.defaultImageAnimated ?? null },
    },
  ];
}
