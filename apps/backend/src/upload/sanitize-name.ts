/**
 * Cleans a client-supplied filename for display only (it is never part of a
 * storage key): last path segment, no control or bidi-override characters,
 * no leading dots, at most 200 characters — a longer name keeps its extension
 * and loses the end of its stem, cut between user-perceived characters.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The characters {@link sanitizeName} removes, as a RegExp source: the admin page shows a file's
 * name by the same rule before the server has seen it (`data-unsafe-name`, admin-page.ts).
 */
export const UNSAFE_NAME_PATTERN: string = UNSAFE.source;

/** Longest name kept, in characters (code points). */
const MAX_NAME_CHARS = 200;

/** What a long name keeps as its extension: a last `.` and up to 15 characters, no space or dot. */
const EXTENSION = /\.[^\s.]{1,15}$/u;

// Grapheme clusters (UAX #29), so a cut never separates a flag's two regional indicators, an
// emoji's ZWJ sequence or a letter from its accent.
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const length = (s: string): number => Array.from(s).length;

/** `name` cut to {@link MAX_NAME_CHARS} characters, keeping its extension. */
function shorten(name: string): string {
  if (length(name) <= MAX_NAME_CHARS) return name;
  const extension = EXTENSION.exec(name)?.[0] ?? '';
  const stem = name.slice(0, name.length - extension.length);
  const budget = MAX_NAME_CHARS - length(extension);
  let kept = '';
  let used = 0;
  for (const { segment } of GRAPHEMES.segment(stem)) {
    const chars = length(segment);
    if (used + chars > budget) break;
    kept += segment;
    used += chars;
  }
  // A first cluster longer than the whole budget (hundreds of stacked marks) is cut by code point.
  if (kept === '') kept = Array.from(stem).slice(0, budget).join('');
  return kept.trimEnd() + extension;
}

/** The display name for an uploaded file; `unnamed` when nothing is left. */
export function sanitizeName(name: string | undefined | null): string {
  let clean = (name ?? '').normalize('NFC').replace(UNSAFE, '');
  clean = shorten((clean.split(/[\\/]/).pop() ?? '').trim().replace(/^\.+/, ''));
  return clean.length > 0 ? clean : 'unnamed';
}
