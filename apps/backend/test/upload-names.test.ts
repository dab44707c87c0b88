/**
 * File names as an upload stores them, through `app.request()` with the
 * platform's FormData (which escapes a name as browsers do) on a real SQLite
 * file and fs store: the name shown is the one the file had, within the
 * display rules of src/upload/sanitize-name.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, makePng, type TestApp, uploadFiles } from './helpers.ts';

type UploadBody = { images: { id?: string; originalName: string; error?: unknown }[] };

describe('file names of uploaded files', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  const uploadNamed = async (...names: string[]) => {
    const body = (await uploadFiles(
      t,
      names.map((name, i) => ({ name, bytes: makePng(8, 8, 40 + i) })),
    )) as UploadBody;
    expect(
      body.images.every((i) => i.id),
      JSON.stringify(body),
    ).toBe(true);
    return body.images.map((i) => i.originalName);
  };

  it('keeps the double quotes FormData sends as %22 and drops the line breaks it sends as %0D and %0A', async () => {
    const names = await uploadNamed('a "b".png', 'two\nlines.png', 'cr\rlf\r\n.png');
    expect(names).toEqual(['a "b".png', 'twolines.png', 'crlf.png']);
    const stored = t.db
      .prepare<[], { original_name: string }>('SELECT original_name FROM images ORDER BY rowid')
      .all();
    expect(stored.map((r) => r.original_name)).toEqual(names);
  });

  it('leaves every other percent sequence in a name as it was typed', async () => {
    expect(await uploadNamed('100%.png', 'a%2Fb%20c%27.png', 'x%0d%0a.png')).toEqual([
      '100%.png',
      'a%2Fb%20c%27.png',
      'x%0d%0a.png',
    ]);
  });

  it('keeps the extension of a name over 200 characters', async () => {
    const [name] = await uploadNamed(`${'a'.repeat(251)}.jpg`);
    expect(name).toBe(`${'a'.repeat(196)}.jpg`);
  });
});
