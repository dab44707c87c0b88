/**
 * The library's derived text keys and how they stay current. `search_text`
 * (migration 016) is an image's file name and title folded by {@link foldText};
 * `name_key` (migration 017) its file name as {@link nameSortKey} orders it.
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
 * trigger (migration 022), and on this connection a TEMP trigger on that
 * blanking computes them again — so their order does not matter (SQLite
 * leaves the order of triggers on one event unspecified). A rule change
 * here ships with a migration that sets the keys back to ''.
 */
import type { Db } from './open-database.ts';

// Combining marks (accents, the dot of İ after lower-casing, Indic vowel signs,
// variation selectors) and format characters (U+200B, ZWJ, soft hyphen): what a
// search should not have to type.
const IGNORED = /[\p{M}\p{Cf}]/gu;

/**
 * `text` folded for matching: full Unicode case folding by upper- then lower-casing (ß → ss,
 * İ → i̇), every final sigma as σ (as Unicode case folding maps ς: `toLowerCase` picks ς or σ
 * by the letters around a Σ, so `Αθηνάς.png` and a search `αθηνάς` would differ), NFKD
 * (ﬁ → fi, full-width → ASCII, é → e + U+0301), then combining marks and format characters
 * removed — so case, accents and NFC/NFD do not matter.
 */
export function foldText(text: string): string {
  return text
    .toUpperCase()
    .toLowerCase()
    .replaceAll('ς', 'σ')
    .normalize('NFKD')
    .replace(IGNORED, '');
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
 * with each run of ASCII digits (full-width ones become ASCII in NFKD) zero-padded to
 * {@link DIGIT_PLACES}, so `w319` comes before `w1279`. A name that folds to nothing (marks
 * only) keeps itself as its key, which is never '' (that means "not computed").
 */
export function nameSortKey(name: string): string {
  const padded = foldText(name).replace(/\d+/g, (run) =>
    run.replace(/^0+(?=\d)/, '').padStart(DIGIT_PLACES, '0'),
  );
  return padded || name;
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
  const set = `SET search_text = library_search_text(new.original_name, new.title),
    name_key = library_name_key(new.original_name)`;
  db.exec(`
    CREATE TEMP TRIGGER IF NOT EXISTS images_keys_inserted AFTER INSERT ON main.images
    BEGIN UPDATE images ${set} WHERE id = new.id; END;
    CREATE TEMP TRIGGER IF NOT EXISTS images_keys_blanked AFTER UPDATE OF search_text, name_key ON main.images
    WHEN new.search_text = '' OR new.name_key = ''
    BEGIN UPDATE images ${set} WHERE id = new.id; END;
  `);
  const missing = "search_text = '' OR name_key = ''";
  if (db.prepare(`SELECT 1 FROM images WHERE ${missing} LIMIT 1`).get()) {
    db.prepare(
      `UPDATE images SET search_text = library_search_text(original_name, title),
         name_key = library_name_key(original_name) WHERE ${missing}`,
    ).run();
  }
}
