/**
 * Cleans a client-supplied filename for display only (it is never part of a
 * storage key): last path segment, no control characters, line or paragraph
 * separators, bidi controls or invisible format characters, no leading dots,
 * at most 200 characters — a longer name keeps its extension and loses the
 * end of its stem, cut between user-perceived characters.
 */

/**
 * Scripts that join or stack letters and write U+200C ZERO WIDTH NON-JOINER and U+200D ZERO
 * WIDTH JOINER to choose a shape: Persian `می‌خواهم` keeps its letters apart with a ZWNJ, and
 * Indic scripts pick a half form or a ligature after a virama (Unicode core spec, 23.2 "Layout
 * Controls").
 */
const JOINING_SCRIPTS = [
  'Arabic',
  'Syriac',
  'Nko',
  'Mongolian',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
]
  .map((script) => `\\p{sc=${script}}`)
  .join('');

/**
 * The format characters (`\p{Cf}`) a name keeps, each where it draws something: a ZWJ between
 * two emoji (👨‍👩‍👧 is one family, not three people), the tags of a subdivision flag (🏴 with
 * "gbsct" and a cancel tag is Scotland's: UTS #51, "Emoji Tag Sequences"), and a ZWNJ or ZWJ
 * inside a word of a {@link JOINING_SCRIPTS} script.
 */
const KEPT_FORMAT = [
  '(?<=\\p{Extended_Pictographic}[\\p{M}\\p{Emoji_Modifier}]*)\\u200d(?=\\p{Extended_Pictographic})',
  '(?<=\\u{1F3F4}[\\u{E0020}-\\u{E007E}]*)(?:[\\u{E0020}-\\u{E007E}](?=[\\u{E0020}-\\u{E007E}]*\\u{E007F})|\\u{E007F})',
  `(?<=[${JOINING_SCRIPTS}]\\p{M}*)[\\u200c\\u200d](?=[${JOINING_SCRIPTS}])`,
].join('|');

/**
 * What a name loses: C0 and C1 controls and DEL, U+2028 LINE SEPARATOR and U+2029 PARAGRAPH
 * SEPARATOR (a name is one line), the bidi controls — embeddings, overrides, isolates, LRM, RLM
 * and U+061C ARABIC LETTER MARK — that can make a name display as another (Unicode TR #9;
 * CVE-2021-42574 "Trojan Source"), and every other format character but those of
 * {@link KEPT_FORMAT}: zero-width spaces and joiners, U+FEFF, soft hyphens and stray tags draw
 * nothing, so two cards would look alike with different names.
 */
const UNSAFE = new RegExp(
  `[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\p{Bidi_Control}]|(?!${KEPT_FORMAT})\\p{Cf}`,
  'gu',
);

/**
 * The characters {@link sanitizeName} removes, as a RegExp source for the flags `gu`: the admin
 * page shows a file's name by the same rule before the server has seen it (`data-unsafe-name`,
 * admin-page.ts). It holds no `"` or `&`, so it goes into an attribute as it is.
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
