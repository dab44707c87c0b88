/**
 * `@slideshow/imaging/header`: everything that works from a file's first
 * bytes — format sniffing, the header probe, the limits and the preset names —
 * without sharp. The backend validates uploads through this entry only, so
 * it never maps libvips (packages' seams in docs/architecture.md); the main
 * entry (index.ts) adds decoding and encoding.
 */
export { DEFAULT_LIMITS, type Limits, resolveLimits } from './limits.ts';
export { BUILT_IN_PRESETS, DEFAULT_PRESET, PRESETS } from './presets.ts';
export { HEAD_BYTES, type ProbeResult, probeHeader } from './probe-header.ts';
export {
  type RefusedKind,
  SOURCE_FORMATS,
  SOURCE_MIME,
  type SourceFormat,
  sniffFormat,
} from './sniff.ts';
