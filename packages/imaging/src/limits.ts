/**
 * Safety limits checked from the file header before any pixel is decoded.
 * Defaults are set well under sharp's own 268 MP ceiling (docs/architecture.md#image-processing).
 */

/** Limits applied to every input. */
export interface Limits {
  /** Largest accepted file, in bytes. */
  maxBytes: number;
  /** Largest accepted pixel count, all frames together (width × height × frames). */
  maxPixels: number;
  /** Most frames an animated image may have. */
  maxFrames: number;
  /** Longest accepted side, in pixels. */
  maxDimension: number;
}

/**
 * 200 MB covers any camera JPEG or 16-bit TIFF an admin uploads; 100 MP is
 * a 12k × 8k photo (and bounds decoded memory to ~400 MB RGBA: an animation's
 * widths are encoded one at a time for that, README); 300 frames
 * is a 10 s animation at 30 fps; 30000 px per side stops 1 × 100M strips.
 */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxBytes: 200 * 1024 * 1024,
  maxPixels: 100_000_000,
  maxFrames: 300,
  maxDimension: 30_000,
});

/** Merges partial limits over the defaults, checking each value eagerly. */
export function resolveLimits(limits: Partial<Limits> = {}): Limits {
  const merged: Limits = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new TypeError(
        `Expected a positive integer for limits.${name} but received ${String(value)} of type ${typeof value}`,
      );
    }
  }
  return merged;
}
