/**
 * The library's stored search and sort keys (src/db/library-keys.ts,
 * migrations 016, 017 and 030) on real SQLite files: computed for the rows of an
 * older database when the backend opens it, kept current by the backend's
 * connection on insert, rename and retitle, and — for a row another
 * connection wrote, renamed or retitled (migrations 022 and 030 set its keys to '')
 * — matched by folding on the fly (and sorted first by name) until the next
 * open computes its keys.
 */
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLibraryRepository } from '../src/db/library-repository.ts';
import { type Db, openDatabase } from '../src/db/open-database.ts';
import { databaseBefore, T0 } from './older-database.ts';

function insertImage(db: Database.Database, id: string, name: string, title = ''): void {
  db.prepare(
    `INSERT INTO images (id, original_name, content_type, bytes, sha256, source_key, status, generation,
       priority, preset, created_at, updated_at, title)
     VALUES (@id, @name, 'image/png', 1, @id, 'originals/' || @id, 'processed', 0, 'interactive',
       'web-v1', @t, @t, @title)`,
  ).run({ id, name, title, t: T0 });
}

const keys = (db: Database.Database) =>
  db
    .prepare<[], { id: string; search_text: string }>(
      'SELECT id, search_text FROM images ORDER BY id',
    )
    .all();

const nameKeys = (db: Database.Database) =>
  db
    .prepare<[], { name_key: string }>('SELECT name_key FROM images ORDER BY id')
    .all()
    .map((r) => r.name_key);

/** `name` with its digit runs as {@link nameSortKey} pads them, for readable expectations. */
const padded = (key: string) => key.replace(/#(\d+)/g, (_, n: string) => n.padStart(20, '0'));

const closing = (db: Db): Db => {
  onTestFinished(() => {
    if (db.open) db.close();
  });
  return db;
};

/** The path of a database file no backend has opened yet (removed when the test ends). */
function newDatabasePath(): string {
  const empty = databaseBefore('001');
  empty.close();
  return empty.name;
}

/** A plain connection to `path` (an older backend, a script, sqlite3): no TEMP triggers, no fold. */
function plainConnection(path: string): Database.Database {
  const other = new Database(path);
  onTestFinished(() => {
    if (other.open) other.close();
  });
  return other;
}

const search = (db: Db, text: string) =>
  createLibraryRepository(db)
    .list({ search: text, sort: 'name', order: 'asc', limit: 10 })
    .map((r) => r.id);

describe('the library search keys', () => {
  it('computes the search and sort keys of every image of an older database when the backend opens it', () => {
    const older = databaseBefore('016_library_search_text.sql');
    insertImage(older, 'img_a', 'Crème.JPG', 'Été à Paris');
    insertImage(older, 'img_b', 'Straße.png');
    const path = older.name;
    older.close();
    const db = closing(openDatabase(path));
    expect(keys(db)).toEqual([
      { id: 'img_a', search_text: 'creme.jpg\nete a paris' },
      { id: 'img_b', search_text: 'strasse.png\n' },
    ]);
    expect(nameKeys(db)).toEqual(['creme.jpg', 'strasse.png']);
  });

  it('keeps the keys of an image inserted, renamed or retitled through the backend', () => {
    const db = closing(openDatabase(newDatabasePath()));
    insertImage(db, 'img_a', 'İstanbul.jpg');
    expect(keys(db)).toEqual([{ id: 'img_a', search_text: 'istanbul.jpg\n' }]);
    db.prepare("UPDATE images SET title = 'ΣΟΦΊΑ' WHERE id = 'img_a'").run();
    expect(keys(db)).toEqual([{ id: 'img_a', search_text: 'istanbul.jpg\nσοφια' }]);
    db.prepare("UPDATE images SET original_name = 'ﬁle.png' WHERE id = 'img_a'").run();
    expect(keys(db)).toEqual([{ id: 'img_a', search_text: 'file.png\nσοφια' }]);
    expect(search(db, 'FILE')).toEqual(['img_a']);
    db.prepare("UPDATE images SET original_name = 'IMG_0042 (2).HEIC' WHERE id = 'img_a'").run();
    expect(nameKeys(db)).toEqual([padded('img_#42 (#2).heic')]);
  });

  it('finds an image another connection wrote before the backend computed its key, and keys it at the next open', () => {
    const path = newDatabasePath();
    const db = closing(openDatabase(path));
    const other = plainConnection(path);
    insertImage(db, 'img_a', 'a.png');
    insertImage(other, 'img_b', 'Ça va.png');
    expect(keys(db)).toEqual([
      { id: 'img_a', search_text: 'a.png\n' },
      { id: 'img_b', search_text: '' },
    ]);
    expect(search(db, 'CA VA')).toEqual(['img_b']);
    // Its name_key is '' until then: it sorts first, and a cursor still pages past it.
    expect(search(db, '.PNG')).toEqual(['img_b', 'img_a']);
    const next = createLibraryRepository(db).list({
      sort: 'name',
      order: 'asc',
      limit: 10,
      after: { value: '', id: 'img_b' },
    });
    expect(next.map((r) => r.id)).toEqual(['img_a']);
    db.close();
    const reopened = closing(openDatabase(path));
    expect(keys(reopened)).toEqual([
      { id: 'img_a', search_text: 'a.png\n' },
      { id: 'img_b', search_text: 'ca va.png\n' },
    ]);
    expect(nameKeys(reopened)).toEqual(['a.png', 'ca va.png']);
    expect(search(reopened, '.PNG')).toEqual(['img_a', 'img_b']);
  });

  it('finds an image by the title another connection gave it, not by its old one, before and after the next open', () => {
    const path = newDatabasePath();
    const db = closing(openDatabase(path));
    insertImage(db, 'img_a', 'Zebra.png', 'Sunset over the bay');
    insertImage(db, 'img_b', 'b.png');
    const other = plainConnection(path);
    other.prepare("UPDATE images SET title = 'Harbour at dawn' WHERE id = 'img_a'").run();
    other.prepare("UPDATE images SET original_name = 'Apple.png' WHERE id = 'img_b'").run();
    expect(search(db, 'harbour')).toEqual(['img_a']);
    expect(search(db, 'sunset')).toEqual([]);
    expect(search(db, 'apple')).toEqual(['img_b']);
    db.close();
    other.prepare("UPDATE images SET title = 'Lighthouse' WHERE id = 'img_a'").run();
    other.close();

    const reopened = closing(openDatabase(path));
    expect(keys(reopened).map((k) => k.search_text)).toEqual([
      'zebra.png\nlighthouse',
      'apple.png\n',
    ]);
    expect(nameKeys(reopened)).toEqual(['zebra.png', 'apple.png']);
    expect(search(reopened, 'lighthouse')).toEqual(['img_a']);
    expect(search(reopened, 'harbour')).toEqual([]);
    expect(search(reopened, '.png')).toEqual(['img_b', 'img_a']);
  });

  it('folds again, at the next open, the keys an older backend folded by the rule before migration 026', () => {
    const older = databaseBefore('026_library_keys_script_marks.sql');
    // As the fold before 026 stored them: every mark removed, ł, ’ and ١٠ kept.
    const stale = older.prepare('UPDATE images SET search_text = ?, name_key = ? WHERE id = ?');
    insertImage(older, 'img_a', 'パパ.jpg');
    stale.run('ハハ.jpg\n', 'ハハ.jpg', 'img_a');
    insertImage(older, 'img_b', 'Łódź ١٠.jpg', 'Mum’s');
    stale.run('łodz ١٠.jpg\nmum’s', 'łodz ١٠.jpg', 'img_b');
    const path = older.name;
    older.close();
    const db = closing(openDatabase(path));
    expect(keys(db)).toEqual([
      { id: 'img_a', search_text: 'ハ\u309aハ\u309a.jpg\n' },
      { id: 'img_b', search_text: "lodz 10.jpg\nmum's" },
    ]);
    expect(nameKeys(db)).toEqual(['ハ\u309aハ\u309a.jpg', padded('lodz #10.jpg')]);
    expect(search(db, 'ハハ')).toEqual([]);
    expect(search(db, 'パパ')).toEqual(['img_a']);
    expect(search(db, 'lodz 10')).toEqual(['img_b']);
    expect(search(db, "mum's")).toEqual(['img_b']);
  });

  it('keys the name each card shows (the title, else the file name) at open, on a retitle through the backend, and after one by another connection', () => {
    const titleKeys = (db: Database.Database) =>
      db
        .prepare<[], { title_key: string }>('SELECT title_key FROM images ORDER BY id')
        .all()
        .map((r) => r.title_key);
    const older = databaseBefore('030_library_title_key.sql');
    insertImage(older, 'img_a', 'b.png', 'Été 2');
    insertImage(older, 'img_b', 'A.png');
    const path = older.name;
    older.close();
    const db = closing(openDatabase(path));
    expect(titleKeys(db)).toEqual([padded('ete #2'), 'a.png']);
    db.prepare("UPDATE images SET title = 'Zebra' WHERE id = 'img_b'").run();
    expect(titleKeys(db)).toEqual([padded('ete #2'), 'zebra']);
    // Another connection has no fold: migration 030's trigger leaves the key '' (sorted first).
    const other = plainConnection(path);
    other.prepare("UPDATE images SET title = '' WHERE id = 'img_a'").run();
    expect(titleKeys(db)).toEqual(['', 'zebra']);
    db.close();
    other.close();
    expect(titleKeys(closing(openDatabase(path)))).toEqual(['b.png', 'zebra']);
  });

  it('leaves a title set to the same value by another connection keyed', () => {
    const path = newDatabasePath();
    const db = closing(openDatabase(path));
    insertImage(db, 'img_a', 'a.png', 'Été');
    const other = plainConnection(path);
    other
      .prepare("UPDATE images SET title = 'Été', original_name = 'a.png' WHERE id = 'img_a'")
      .run();
    expect(keys(db)).toEqual([{ id: 'img_a', search_text: 'a.png\nete' }]);
  });
});
