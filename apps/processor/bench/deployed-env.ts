/**
 * The processor's settings in its Docker image, so the bench measures the
 * deployed processor: the candidate preset (the default) and the Dockerfile's
 * allocator and libvips settings.
 */
import { DEFAULT_PRESET } from '@slideshow/imaging';

/** The preset the figures are for (the default). */
export const PRESET = DEFAULT_PRESET;

/** The Dockerfile's settings, so the memory figure is the deployed one. */
export const IMAGE_ENV = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  VIPS_CONCURRENCY: '2',
  IMAGING_PRESET: PRESET,
};
