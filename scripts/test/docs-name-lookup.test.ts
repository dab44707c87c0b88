/**
 * docs/operations.md's lookup of an image by its file name or title, run as
 * written against the database of a real backend (startTestBackend: its own
 * connection keeps the library's folded keys): a name written folded, as the
 * runbook says, finds names and titles in any case and with any accents, and
 * a row a plain connection renamed (its key '' until the backend opens the
 * database again) is still found by its new name as stored.
 */
import { DatabaseSync } from 'node:sqlite';
import { crc32, deflateSync } from 'node:zlib';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docCommands, programOf } from './helpers/docs-commands.ts';

/** A valid 1×1 RGB PNG of the given colour (distinct bytes, so no duplicate detection). */
function tinyPng(r: number, g: number, b: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, r, g, b]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe("docs/operations.md's lookup of an image by its name", () => {
  let backend: TestBackend;
  let lookup: string;

  beforeAll(async () => {
    const lines = (await docCommands('operations.md')).filter(
      (line) => programOf(line) === 'sqlite3' && line.includes("'%NAME%'"),
    );
    expect(lines).toHaveLength(1);
    lookup = /^sqlite3 .*?\.data\/slideshow\.db "(.*)"$/.exec(lines[0]!)![1]!;
    backend = await startTestBackend({ relay: false });
    const names = ['CAFÉ.png', 'café.png', 'Straße.png', 'Łódź.png', 'harbour.png', 'plain.png'];
    for (const [i, name] of names.entries()) await backend.upload(tinyPng(i, 40, 80), name);
    const title = await backend.adminFetch(`/api/admin/images/${idOf('harbour.png')}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Le Café de Flore' }),
    });
    expect(title.status, await title.text()).toBe(200);
    // Renamed as `sqlite3` would: its key is '' until the backend next opens the database.
    const other = new DatabaseSync(backend.dbPath);
    other
      .prepare("UPDATE images SET original_name = 'Café-renamed.png' WHERE id = ?")
      .run(idOf('plain.png'));
    other.close();
  });
  afterAll(async () => {
    await backend?.stop();
  });

  function idOf(name: string): string {
    const row = backend.db
      .prepare<[string], { id: string }>('SELECT id FROM images WHERE original_name = ?')
      .get(name);
    if (!row) throw new Error(`no image ${name}`);
    return row.id;
  }

  /** The names the runbook's query lists for `name`, sorted. */
  function found(name: string): string[] {
    const db = new DatabaseSync(backend.dbPath, { readOnly: true });
    try {
      const rows = db.prepare(lookup.replace("'%NAME%'", `'%${name}%'`)).all();
      return rows.map((r) => String(r.original_name)).sort();
    } finally {
      db.close();
    }
  }

  it('finds names and titles in any case and with any accents by the folded name', () => {
    expect(found('cafe')).toEqual(['CAFÉ.png', 'café.png', 'harbour.png']);
    expect(found('CAFE')).toEqual(found('cafe'));
    expect(found('strasse')).toEqual(['Straße.png']);
    expect(found('lodz')).toEqual(['Łódź.png']);
    expect(found('flore')).toEqual(['harbour.png']);
  });

  it('finds a row another connection renamed by the name it was given, not by the old one', () => {
    expect(found('renamed')).toEqual(['Café-renamed.png']);
    expect(found('plain')).toEqual([]);
  });
});
