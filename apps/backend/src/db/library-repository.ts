/**
 * The media library's reads and writes over `images` (migration 006): search
 * (over the folded `search_text`, migration 016), filter (images with no alt
 * text: migration 025's partial indexes) and sort (by file name: `name_key`,
 * migration 017; by the name a card shows: `title_key`, migration 030) with a keyset cursor,
 * lookups by id or content
 * hash, the editable description, publishing, the slideshow order, and each
 * image's timeline (`image_events`, written by triggers). State transitions stay in
 * images-repository.ts and lifecycle.ts; nothing here changes `status`.
 */
import type { ImageStatus } from '@slideshow/contracts';
import type { ImageRow } from './images-repository.ts';
import { foldText, nameSortKey, shownName } from './library-keys.ts';
import type { Db } from './open-database.ts';

/** The columns migration 006 adds to `images`. */
export interface DescriptionColumns {
  title: string;
  caption: string;
  alt_text: string;
  published: number;
  slide_position: number | null;
}

/** The keys migrations 016, 017 and 030 add to `images` (library-keys.ts; '' until computed). */
export interface LibraryKeyColumns {
  search_text: string;
  name_key: string;
  title_key: string;
}

/** A row of `images` with the library columns. */
export type LibraryRow = ImageRow & DescriptionColumns & LibraryKeyColumns;

/** A library row with its open failure, if any (LEFT JOIN failed_tasks). */
export type LibraryListRow = LibraryRow & {
  failure_code: string | null;
  failure_message: string | null;
};

/**
 * What the library can be sorted by: `name` is the file name, `title` the name a card shows —
 * the title, or the file name of an untitled image.
 */
export const LIBRARY_SORTS = ['date', 'name', 'title', 'size'] as const;
/** A sort key. */
export type LibrarySort = (typeof LIBRARY_SORTS)[number];

/** One listing request. */
export interface LibraryQuery {
  status?: ImageStatus;
  /** Only published (`true`) or only hidden (`false`) images. */
  published?: boolean;
  /** Only images with no alt text (`alt_text` is ''; migration 025's indexes serve it). */
  altMissing?: boolean;
  /** A substring of the file name or the title, case, accents and normalisation ignored. */
  search?: string;
  sort: LibrarySort;
  order: 'asc' | 'desc';
  /** Keyset position: the last row of the previous page. */
  after?: { value: string | number; id: string };
  limit: number;
}

/** The description fields an admin edits. */
export interface DescriptionPatch {
  title?: string;
  caption?: string;
  altText?: string;
  published?: boolean;
}

/**
 * What a conditional description write did: no such image; refused by its
 * precondition, with the row as it is; or written, with the row as it is now.
 */
export type DescribeOutcome =
  | { done: 'missing' }
  | { done: 'refused'; current: LibraryListRow }
  | { done: 'described'; image: LibraryListRow };

/** One timeline entry. */
export interface ImageEventRow {
  id: number;
  image_id: string;
  at: string;
  kind: 'uploaded' | 'dispatched' | 'started' | 'processed' | 'failed' | 'requeued';
  generation: number;
  attempt: number | null;
  execution: string | null;
  code: string | null;
  detail: string | null;
}

const SORT_COLUMN: Record<LibrarySort, string> = {
  date: 'i.created_at',
  // Folded, accents ignored, digit runs by value (library-keys.ts); a row another connection
  // wrote has '' until the backend next opens the database, and sorts first until then.
  name: 'i.name_key',
  // The title, else the file name, keyed as `name_key` is (migration 030).
  title: 'i.title_key',
  size: 'i.bytes',
};

/**
 * What the next page's cursor holds of `row`: its sort column's value, but for the name and
 * title sorts the name or title itself, from which {@link cursorPosition} computes the key again. The key can be several
 * times longer than the name (every digit run padded to 20 places, a Hangul syllable split into
 * its letters), and a cursor travels in a query string.
 */
export function sortValue(row: LibraryRow, sort: LibrarySort): string | number {
  if (sort === 'name') return row.original_name;
  if (sort === 'title') return shownName(row.original_name, row.title);
  if (sort === 'size') return row.bytes;
  return row.created_at;
}

/** The sort column's value a cursor's {@link sortValue} stands for. */
export function cursorPosition(value: string | number, sort: LibrarySort): string | number {
  return sort === 'name' || sort === 'title' ? nameSortKey(String(value)) : value;
}

/**
 * A row's folded name and title (library-keys.ts), or, for a row written by another connection
 * and not yet keyed (''), the same folded on the fly.
 */
const SEARCH_TEXT =
  "coalesce(nullif(i.search_text, ''), library_search_text(i.original_name, i.title))";

const SELECT_LIST = `SELECT i.*, f.error_code AS failure_code, f.error_message AS failure_message
  FROM images i LEFT JOIN failed_tasks f ON f.image_id = i.id AND f.resolved_at IS NULL`;

/**
 * Most images the public slideshow plays, and so the most the admin's Slideshow panel lists
 * and can order: one number for both, so the panel never orders images the slideshow skips.
 */
export const SLIDESHOW_LENGTH = 1_000;

/**
 * The slideshow's query: placed images by position, then the rest newest first. Served by the
 * `images_slideshow_order` index (migration 023) with no sort, so its cost does not grow with
 * the library (at 100,000 shown images a sort took ~0.5 s, on every viewer's load and 304).
 */
export const SLIDESHOW_QUERY = `SELECT * FROM images WHERE status = 'processed' AND published = 1
  ORDER BY slide_position IS NULL, slide_position, processed_at DESC, id DESC LIMIT ?`;

/** The filter terms of `q` (its search and cursor aside) and their parameters. */
function filterTerms(q: LibraryQuery): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.status) {
    where.push('i.status = ?');
    params.push(q.status);
  }
  if (q.published !== undefined) {
    where.push('i.published = ?');
    params.push(q.published ? 1 : 0);
  }
  // A literal, not a parameter: SQLite uses a partial index (migration 025) only for a
  // term that matches its WHERE as written (https://www.sqlite.org/partialindex.html,
  // "Queries Using Partial Indexes").
  if (q.altMissing) where.push(`i.alt_text = ''`);
  return { where, params };
}

/**
 * The statement that lists one page for `q`, with its parameters (the limit last): what
 * `list` runs, and what the scale test asks SQLite to plan (EXPLAIN QUERY PLAN).
 */
export function listStatement(q: LibraryQuery): { sql: string; params: (string | number)[] } {
  const { where, params } = filterTerms(q);
  // Folded like the stored text, so case, accents and NFC/NFD do not matter; instr() takes
  // `%` and `_` literally. A search that folds to nothing (only accents) matches everything.
  const needle = foldText(q.search ?? '');
  if (needle) {
    where.push(`instr(${SEARCH_TEXT}, ?) > 0`);
    params.push(needle);
  }
  const column = SORT_COLUMN[q.sort];
  const cmp = q.order === 'desc' ? '<' : '>';
  if (q.after) {
    where.push(`(${column} ${cmp} ? OR (${column} = ? AND i.id ${cmp} ?))`);
    params.push(q.after.value, q.after.value, q.after.id);
  }
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const sql = `${SELECT_LIST} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${column} ${dir}, i.id ${dir} LIMIT ?`;
  return { sql, params: [...params, q.limit] };
}

/** The description's writes over `db`; `byId` reads a row as the library lists it. */
function descriptionWrites(db: Db, byId: (id: string) => LibraryListRow | undefined) {
  const update = db.prepare<{
    id: string;
    title: string | null;
    caption: string | null;
    altText: string | null;
    published: number | null;
  }>(
    `UPDATE images SET title = coalesce(@title, title), caption = coalesce(@caption, caption),
       alt_text = coalesce(@altText, alt_text), published = coalesce(@published, published)
     WHERE id = @id`,
  );
  const describe = (id: string, patch: DescriptionPatch): boolean =>
    update.run({
      id,
      title: patch.title ?? null,
      caption: patch.caption ?? null,
      altText: patch.altText ?? null,
      published: patch.published === undefined ? null : patch.published ? 1 : 0,
    }).changes === 1;
  const describeIf = db.transaction(
    (id: string, patch: DescriptionPatch, allows: (current: LibraryListRow) => boolean) => {
      const current = byId(id);
      if (!current) return { done: 'missing' } as const;
      if (!allows(current)) return { done: 'refused', current } as const;
      describe(id, patch);
      return { done: 'described', image: byId(id) ?? current } as const;
    },
  );
  return {
    /**
     * Applies an edit; false when there is no such image. `updated_at` is left
     * alone: it is the state machine's clock (the reaper and /status read it).
     */
    describe,
    /**
     * Applies an edit as {@link describe} does, but only when `allows` accepts the row as it
     * is (a PATCH's `If-Match`: library/description-revision.ts). BEGIN IMMEDIATE: the write
     * lock is taken before the read, so a write of another connection (an operator's
     * `sqlite3`) never lands between the check and the write.
     */
    describeIf: (
      id: string,
      patch: DescriptionPatch,
      allows: (current: LibraryListRow) => boolean,
    ): DescribeOutcome => describeIf.immediate(id, patch, allows),
  };
}

/** Creates the repository over `db`. */
export function createLibraryRepository(db: Db) {
  const clearPositions = db.prepare(
    'UPDATE images SET slide_position = NULL WHERE slide_position IS NOT NULL',
  );
  const place = db.prepare<[number, string]>(
    `UPDATE images SET slide_position = ? WHERE id = ? AND status = 'processed' AND published = 1`,
  );
  const slideshow = db.prepare<[number], LibraryRow>(SLIDESHOW_QUERY);
  const events = db.prepare<[string, number], ImageEventRow>(
    'SELECT * FROM image_events WHERE image_id = ? ORDER BY id LIMIT ?',
  );
  const byList = (column: 'id' | 'sha256', values: readonly string[]): LibraryListRow[] => {
    if (values.length === 0) return [];
    const marks = values.map(() => '?').join(',');
    return db
      .prepare<string[], LibraryListRow>(`${SELECT_LIST} WHERE i.${column} IN (${marks})`)
      .all(...values);
  };

  return {
    /** One page of the library, filtered and sorted, after the cursor position. */
    list: (q: LibraryQuery): LibraryListRow[] => {
      const { sql, params } = listStatement(q);
      return db.prepare<(string | number)[], LibraryListRow>(sql).all(...params);
    },
    /** The rows with these ids (any order; unknown ids are absent). */
    byIds: (ids: readonly string[]) => byList('id', ids),
    /** The rows with these content hashes (lower-case hex). */
    bySha256: (hashes: readonly string[]) => byList('sha256', hashes),
    // The description's writes: describe (unconditional) and describeIf (over a precondition).
    ...descriptionWrites(db, (id) => byList('id', [id])[0]),
    /**
     * The slideshow order: `ids` take positions 1..n; every other image loses
     * its place (shown after them, newest first). Returns the ids that were
     * placed (processed and published); the others are ignored.
     */
    setOrder: db.transaction((ids: readonly string[]): string[] => {
      clearPositions.run();
      const placed: string[] = [];
      ids.forEach((id, index) => {
        if (place.run(index + 1, id).changes === 1) placed.push(id);
      });
      return placed;
    }),
    /** Published processed images in slideshow order. */
    slideshow: (limit: number): LibraryRow[] => slideshow.all(limit),
    /** The image's timeline, oldest first. */
    events: (id: string, limit = 500): ImageEventRow[] => events.all(id, limit),
  };
}

/** The library repository. */
export type LibraryRepository = ReturnType<typeof createLibraryRepository>;
