/**
 * What an admin may write into an image's title, caption and alt text: the
 * limits (also CHECKs in migration 006) and the characters refused. Text is
 * stored as given (NFC, trimmed; a value of invisible characters only, such
 * as U+200B, as '') and escaped where it is shown — the pages set it with
 * `textContent` / attributes, never as HTML — so `<b>` is kept as the four
 * characters it is.
 */
import * as z from 'zod';

/** Longest title, caption and alt text, in characters (code points, as SQLite's length()). */
export const DESCRIPTION_LIMITS = { title: 200, caption: 2000, altText: 1000 } as const;

// C0/C1 controls and DEL (U+0085 NEXT LINE among them), U+2028 LINE SEPARATOR and U+2029
// PARAGRAPH SEPARATOR (a line break only where multi-line text is allowed, as '\n'), and the bidi embedding/override/isolate
// controls that can make text display as something else (Unicode TR #9; CVE-2021-42574 "Trojan
// Source"). LRM, RLM and ALM stay.
const CONTROLS = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

// Every line break a multi-line text may hold, written as '\n': CR LF, CR, U+0085 NEXT LINE (the
// newline of EBCDIC text and of some converters: Unicode core spec, 5.8 "Newline Guidelines"),
// and the Unicode line and paragraph separators, which a page shows as a line break or not at
// all, as it likes.
const LINE_BREAKS = /\r\n?|[\u0085\u2028\u2029]/g;

// Text that shows nothing: white space (line breaks too) and format characters such as U+200B
// ZERO WIDTH SPACE or U+2060 WORD JOINER, which trim() keeps. Stored as '' so the slideshow falls
// back as for no title instead of showing an empty caption or giving an image an empty alt.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}]*$/u;

function text(max: number, multiline: boolean) {
  return z
    .string()
    .transform((s) => {
      const normalised = s.normalize('NFC');
      return (multiline ? normalised.replace(LINE_BREAKS, '\n') : normalised).trim();
    })
    .refine((s) => !CONTROLS.test(multiline ? s.replaceAll('\n', '') : s), {
      message: multiline
        ? 'must not contain control characters other than line breaks, or bidi-override characters'
        : 'must not contain control characters, line breaks or bidi-override characters',
    })
    .refine((s) => [...s].length <= max, { message: `must be at most ${max} characters` })
    .transform((s) => (INVISIBLE_ONLY.test(s) ? '' : s));
}

/** `PATCH /api/admin/images/:id`: any of the fields; at least one. */
export const DescriptionPatchBody = z
  .object({
    title: text(DESCRIPTION_LIMITS.title, false).optional(),
    caption: text(DESCRIPTION_LIMITS.caption, true).optional(),
    altText: text(DESCRIPTION_LIMITS.altText, false).optional(),
    published: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field');

/** A validated description edit. */
export type DescriptionPatchBody = z.infer<typeof DescriptionPatchBody>;
