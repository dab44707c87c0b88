/**
 * @slideshow/imaging: validate an image from its header, decode it once, and
 * write web-ready variants of a versioned preset (docs/architecture.md#image-processing). No I/O
 * beyond
 * buffers, file reads of the input and the caller's `write`.
 */
export type { OutputFormat, VariantOutput } from './encode.ts';
export { DEFAULT_LIMITS, type Limits, resolveLimits } from './limits.ts';
export { type PresetSet, presetVersion } from './preset-config.ts';
export {
  BUILT_IN_PRESETS,
  type ColourMode,
  DEFAULT_PRESET,
  getPreset,
  PRESETS,
  type Preset,
} from './presets.ts';
export { probe } from './probe.ts';
export { HEAD_BYTES, type ProbeResult, probeHeader } from './probe-header.ts';
export { type ProcessOptions, processImage, targetWidths } from './process.ts';
export {
  type RefusedKind,
  SOURCE_FORMATS,
  SOURCE_MIME,
  type SourceFormat,
  sniffFormat,
} from './sniff.ts';
export { IMAGE_WARNING_CODES, type ImageWarning } from './warnings.ts';
