/**
 * The library's derived text keys and how they stay current. `search_text`
 * (migration 016) is an image's file name and title folded by {@link foldText};
 * `name_key` (migration 017) its file name as {@link nameSortKey} orders it;
 * `title_key` (migration 030) the name its card shows ({@link shownName}) so.
 *
 * The fold is JavaScript (SQLite's own case folding is ASCII only, and its
 * ICU extension is not in better-sqlite3's build), so the keys are stored:
 * folding 20,000 names per search through a registered function costs tens
 * of milliseconds where an instr() over a stored column costs one or two.
 * The functions are registered on the backend's connection only, so the
 * TEMP triggers that call them exist on that connection only too: a script
 * or `sqlite3` writing a row leaves its keys '' (not computed), filled when
 * the backend next opens the database. A rename or retitle on any
 * connection (an older backend's too) sets them to '' by the database's own
 * trigger (migrations 022 and 030), and on this connection a TEMP trigger on that
 * blanking computes them again — so their order does not matter (SQLite
 * leaves the order of triggers on one event unspecified). A rule change
 * here ships with a migration that sets the keys back to ''.
 */
import type { Db } from './open-database.ts';

/**
 * The scripts whose combining marks are accents a search ignores (é, ά, ё, ـَ, ָ): after a
 * letter of one of these, a mark goes. Elsewhere a mark is part of the letter — the voicing
 * marks of kana (パ is not ハ, ガ not カ), Indic and Thai vowel signs (दिल is not दल) — and
 * stays, so a search there is as strict as the text.
 */
const ACCENTED_SCRIPTS = '\\p{sc=Latin}\\p{sc=Greek}\\p{sc=Cyrillic}\\p{sc=Arabic}\\p{sc=Hebrew}';

// Accents of those scripts (stacked ones too), variation selectors (❤️ is ❤, an ideographic
// variation is its ideograph) and format characters (U+200B, ZWJ, soft hyphen, tags): what a
// search should not have to type.
const IGNORED = new RegExp(
  `(?<=[${ACCENTED_SCRIPTS}]\\p{M}*)\\p{M}|[\\uFE00-\\uFE0F\\u{E0100}-\\u{E01EF}]|\\p{Cf}`,
  'gu',
);

/**
 * Letters with no decomposition that people write without their stroke or as two letters
 * (`lodz` for `Łódź`, `aeroe` for `Ærø`), lower case: the fold lower-cases first.
 */
const PLAIN_LETTERS: Readonly<Record<string, string>> = {
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ħ: 'h',
  æ: 'ae',
  œ: 'oe',
  þ: 'th',
};
const LETTERS = new RegExp(`[${Object.keys(PLAIN_LETTERS).join('')}]`, 'g');

/** Typographic apostrophes (’ ‘ and the modifier letter ʼ) as the `'` a keyboard types. */
const APOSTROPHES = /[\u2018\u2019\u02BC]/g;

const DIGIT = /\p{Nd}/u;
/** The decimal digits of every script but ASCII's. */
const DIGITS = /(?![0-9])\p{Nd}/gu;
/** Each decimal digit's value, as found ({@link digitValue}). */
const digitValues = new Map<string, number>();

/**
 * The value of a decimal digit of any script. Unicode encodes every script's digits as one run
 * of ten code points from 0 to 9 (Unicode core spec, 4.6 "Numeric Value"), and runs that touch
 * (the mathematical digits) are whole runs of ten: a digit's value is its distance from the
 * first digit of the run it stands in, modulo ten.
 */
function digitValue(digit: string): number {
  let value = digitValues.get(digit);
  if (value === undefined) {
    const code = digit.codePointAt(0) ?? 0;
    let first = code;
    while (DIGIT.test(String.fromCodePoint(first - 1))) first -= 1;
    value = (code - first) % 10;
    digitValues.set(digit, value);
  }
  return value;
}

/**
 * `text` folded for matching: full Unicode case folding by upper- then lower-casing (ß → ss,
 * İ → i̇), every final sigma as σ (as Unicode case folding maps ς: `toLowerCase` picks ς or σ
 * by the letters around a Σ, so `Αθηνάς.png` and a search `αθηνάς` would differ), NFKD
 * (ﬁ → fi, full-width → ASCII, é → e + U+0301), then the accents of Latin, Greek, Cyrillic,
 * Arabic and Hebrew letters, variation selectors and format characters removed ({@link IGNORED})
 * — so case, accents and NFC/NFD do not matter, and a half-width ｶﾞ is a ガ — the stroked and
 * joined letters spelt plainly (ł → l, æ → ae), typographic apostrophes as `'` (`mum's` finds
 * `Mum’s`), and every decimal digit as its ASCII digit (١٠ → 10).
 */
export function foldText(text: string): string {
  return text
    .toUpperCase()
    .toLowerCase()
    .replaceAll('ς', 'σ')
    .normalize('NFKD')
    .replace(IGNORED, '')
    .replace(LETTERS, (letter) => PLAIN_LETTERS[letter] ?? letter)
    .replace(APOSTROPHES, "'")
    .replace(DIGITS, (digit) => String(digitValue(digit)));
}

/**
 * The folded text searched for an image: its file name and title, a line break apart (neither a
 * name, a title nor a search holds one, so no match spans the two).
 */
export function searchText(name: string, title: string): string {
  return `${foldText(name)}\n${foldText(title)}`;
}

/** Places every run of digits is padded to in {@link nameSortKey}: any 64-bit number fits. */
const DIGIT_PLACES = 20;

/**
 * The key the library sorts names by: {@link foldText} (so `Été` sorts with `e`, not after `z`)
 * with each run of digits (every script's are ASCII by then) zero-padded to
 * {@link DIGIT_PLACES}, so `w319` comes before `w1279` and `photo ٩` before `photo ١٠`. A name that folds to nothing (marks
 * only) keeps itself as its key, which is never '' (that means "not computed").
 */
export function nameSortKey(name: string): string {
  const padded = foldText(name).replace(/\d+/g, (run) =>
    run.replace(/^0+(?=\d)/, '').padStart(DIGIT_PLACES, '0'),
  );
  return padded || name;
}

/**
 * The name an image's card shows (admin-dom.js `displayName`): its title, or its file name when
 * it has none (the API stores a blank title as '': library/description.ts).
 */
export function shownName(name: string, title: string): string {
  return title || name;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * Registers the key functions on `db`, installs this connection's TEMP triggers that keep the
 * keys of inserted images and of images whose keys were set to '' (by migration 022's trigger,
 * on a rename or retitle), and computes the keys a row lacks.
 */
export function keepLibraryKeys(db: Db): void {
  db.function('library_search_text', { deterministic: true }, (name: unknown, title: unknown) =>
    searchText(text(name), text(title)),
  );
  db.function('library_name_key', { deterministic: true }, (name: unknown) =>
    nameSortKey(text(name)),
  );
  db.function('library_title_key', { deterministic: true }, (name: unknown, title: unknown) =>
    nameSortKey(shownName(text(name), text(title))),
  );
  // The SET terms of the keys of row `r`: `new.` in a trigger, '' in a plain UPDATE.
  const keys = (r: string) =>
    [
      `search_text = library_search_text(${r}original_name, ${r}title)`,
      `name_key = library_name_key(${r}original_name)`,
      `title_key = library_title_key(${r}original_name, ${r}title)`,
    ].join(', ');
  // Migrations 022 and 030 blank the keys by two triggers, in an order SQLite leaves open: each
  // blanking fires this one, so the keys are computed after the last of them.
  db.exec(`
    CREATE TEMP TRIGGER IF NOT EXISTS images_keys_inserted AFTER INSERT ON main.images
    BEGIN UPDATE images SET ${keys('new.')} WHERE id = new.id; END;
    CREATE TEMP TRIGGER IF NOT EXISTS images_keys_blanked
    AFTER UPDATE OF search_text, name_key, title_key ON main.images
    WHEN new.search_text = '' OR new.name_key = '' OR new.title_key = ''
    BEGIN UPDATE images SET ${keys('new.')} WHERE id = new.id; END;
  `);
  const missing = "search_text = '' OR name_key = '' OR title_key = ''";
  if (db.prepare(`SELECT 1 FROM images WHERE ${missing} LIMIT 1`).get()) {
    db.prepare(`UPDATE images SET ${keys('')} WHERE ${missing}`).run();
  }
}
