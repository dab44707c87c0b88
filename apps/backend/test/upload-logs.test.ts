/**
 * What an upload's log lines name (docs/operations.md, "Monitoring"): an
 * operator greps an image id to follow that image, so a line names an image
 * (`imageId`) only once it exists — an accepted file by its new id, a
 * duplicate by the image it repeats. A refused file, sent in a multipart
 * request or through a session, is logged with the request id and its file
 * name (a resumable session's also with its `resumableUploadId`), never with the id its bytes
 * were stored under before the refusal: that id names no image, ever.
 */
import { ErrorAnswer, UploadAnswer, UploadSessionAnswer } from '@slideshow/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin,
  expectAnswer,
  makeApp,
  makePng,
  memoryLogger,
  multipart,
  type TestApp,
} from './helpers.ts';

/** Text, which no image format sniffs as its own. */
const NOTES = Buffer.from('shopping list: milk, eggs, and a proper photo next time\n');

describe('the log lines of an upload', () => {
  let t: TestApp | undefined;
  afterEach(() => {
    t?.cleanup();
    t = undefined;
  });

  /** A test app whose log lines (INFO and up) are kept, parsed. */
  async function loggedApp() {
    const memory = memoryLogger();
    t = await makeApp({ logger: memory.logger });
    return { t, lines: memory.lines };
  }

  /** The `imageId`s the lines name that no image row has. */
  const unknownImages = (app: TestApp, lines: Record<string, unknown>[]) =>
    lines
      .filter((line) => line.imageId !== undefined)
      .filter((line) => !app.repos.images.get(String(line.imageId)))
      .map((line) => `${String(line.message)}: ${String(line.imageId)}`);

  /** The one line with `message` about `fileName`. */
  const lineAbout = (lines: Record<string, unknown>[], message: string, fileName: string) => {
    const found = lines.filter((l) => l.message === message && l.fileName === fileName);
    expect(found, `${message} ${fileName} in ${JSON.stringify(lines)}`).toHaveLength(1);
    return found[0] as Record<string, unknown>;
  };

  it('logs a refused file of a multipart upload with the request id and its name, and no image id', async () => {
    const { t, lines } = await loggedApp();
    const png = makePng(8, 8, 11);
    const response = await t.app.request('/api/admin/upload', {
      method: 'POST',
      headers: admin({ 'X-Request-Id': 'upload-request-1' }),
      body: multipart([
        { name: 'a.png', bytes: png },
        { name: 'notes.png', bytes: NOTES },
        { name: 'empty.png', bytes: Buffer.alloc(0) },
      ]),
    });
    const answer = await expectAnswer(UploadAnswer, response, 202);
    const accepted = answer.images[0];
    if (!accepted || !('id' in accepted)) throw new Error(`a.png was refused: ${accepted}`);

    for (const [fileName, code] of [
      ['notes.png', 'UNSUPPORTED_FORMAT'],
      ['empty.png', 'EMPTY_FILE'],
    ] as const) {
      const refused = lineAbout(lines, 'upload refused', fileName);
      expect(refused).toMatchObject({ requestId: 'upload-request-1', code });
      expect(refused).not.toHaveProperty('imageId');
    }
    expect(lineAbout(lines, 'image accepted', 'a.png')).toMatchObject({
      requestId: 'upload-request-1',
      imageId: accepted.id,
    });
    expect(unknownImages(t, lines)).toEqual([]);

    // The same bytes again: the line names the image they repeat, which exists.
    const again = await expectAnswer(
      UploadAnswer,
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'a-again.png', bytes: png }]),
      }),
      202,
    );
    expect(again.images[0]).toMatchObject({ id: accepted.id, duplicate: true });
    expect(lineAbout(lines, 'duplicate upload', 'a-again.png')).toMatchObject({
      imageId: accepted.id,
    });
    expect(unknownImages(t, lines)).toEqual([]);
  });

  it('logs a session whose object is refused by its session id and file name, and no image id', async () => {
    const { t, lines } = await loggedApp();
    const opened = await expectAnswer(
      UploadSessionAnswer,
      await t.app.request('/api/admin/upload-sessions', {
        method: 'POST',
        headers: admin({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ name: 'notes.png', size: NOTES.length }),
      }),
      201,
    );
    const sent = await t.app.request(opened.sessionUrl, {
      method: 'PUT',
      headers: { 'Content-Range': `bytes 0-${NOTES.length - 1}/${NOTES.length}` },
      body: new Uint8Array(NOTES),
    });
    expect(sent.status, await sent.text()).toBe(200);
    // One file's refusal is the request's error, as for a one-file multipart upload.
    const completed = await expectAnswer(
      ErrorAnswer,
      await t.app.request(`/api/admin/upload-sessions/${opened.id}/complete`, {
        method: 'POST',
        headers: admin({ 'X-Request-Id': 'complete-request-1' }),
      }),
      415,
    );
    expect(completed.error.code).toBe('UNSUPPORTED_FORMAT');
    expect(t.repos.images.get(opened.id)).toBeUndefined();

    expect(lineAbout(lines, 'upload session opened', 'notes.png')).toMatchObject({
      resumableUploadId: opened.id,
    });
    const refused = lineAbout(lines, 'upload refused', 'notes.png');
    expect(refused).toMatchObject({
      requestId: 'complete-request-1',
      resumableUploadId: opened.id,
      code: 'UNSUPPORTED_FORMAT',
    });
    expect(unknownImages(t, lines)).toEqual([]);
  });
});
