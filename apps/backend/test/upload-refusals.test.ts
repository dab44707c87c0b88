/**
 * Where `POST /api/admin/upload` draws its lines (src/upload/receive-upload.ts):
 * a file of exactly MAX_UPLOAD_BYTES is taken, as the resumable path and the
 * processor take it, and one byte more is refused; a request refused before
 * any file completed (too many fields) stores nothing, not even a file that
 * arrived in the same chunk as the refusal.
 */
import { ErrorAnswer } from '@slideshow/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin,
  expectAnswer,
  makeApp,
  makePng,
  multipart,
  type TestApp,
  uploadFiles,
} from './helpers.ts';
import { BOUNDARY, filePartHead, MULTIPART_TYPE, multipartBody } from './multipart-bodies.ts';

/** The object keys under `originals/`. */
async function originals(t: TestApp): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of t.store.list('originals/')) keys.push(info.key);
  return keys;
}

const imageCount = (t: TestApp) => t.db.prepare('SELECT count(*) AS n FROM images').get();

describe('upload refusals', () => {
  let t: TestApp | undefined;
  afterEach(() => {
    t?.cleanup();
    t = undefined;
  });

  it('takes a file of exactly MAX_UPLOAD_BYTES and refuses one byte more with 413', async () => {
    const png = makePng(16, 16, 5);
    t = await makeApp({ maxUploadBytes: png.length });
    const taken = await uploadFiles(t, [{ name: 'exact.png', bytes: png }]);
    expect(taken.images[0]).toMatchObject({ originalName: 'exact.png', duplicate: false });
    // One byte after IEND: still a PNG, now one byte over the limit.
    const over = Buffer.concat([makePng(16, 16, 6), Buffer.from([0])]);
    const refused = await expectAnswer(
      ErrorAnswer,
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name: 'over.png', bytes: over }]),
      }),
      413,
    );
    expect(refused.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(imageCount(t)).toEqual({ n: 1 });
    expect(await originals(t)).toHaveLength(1);
  });

  it('refuses 21 fields and the file after them in one chunk with 413, storing nothing', async () => {
    t = await makeApp();
    const field = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nx\r\n`;
    // One buffer: busboy parses the fields, the refusal and the file in one write.
    const body = Buffer.concat([
      Buffer.from(field.repeat(21)),
      multipartBody([{ head: filePartHead('late.png', 'image/png'), bytes: makePng(8, 8, 7) }]),
    ]);
    const refused = await expectAnswer(
      ErrorAnswer,
      await t.app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin({ 'Content-Type': MULTIPART_TYPE }),
        body,
      }),
      413,
    );
    expect(refused.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'too many fields in the multipart body',
    });
    expect(imageCount(t)).toEqual({ n: 0 });
    expect(await originals(t)).toEqual([]);
  });
});
