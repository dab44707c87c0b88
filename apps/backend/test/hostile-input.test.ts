/**
 * Hostile input at the socket level (every cost bounded) against the real backend
 * process: multipart bombs, bodies that never end, slow-loris headers and
 * bodies, oversized files, hostile filenames, lying content types and a
 * JPEG/HTML polyglot. Each gets a clear error (or a safe result), leaves
 * nothing half-written in storage, the server keeps answering /healthz, and
 * its RSS stays within a generous safety bound.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsObjectStore } from '@slideshow/storage/fs';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BackendProcess,
  rssBytes,
  type StreamedResponse,
  sleep,
  startBackendProcess,
  streamRequest,
} from './backend-process.ts';
import { makePng } from './helpers.ts';
import {
  BOUNDARY,
  fileOfSize,
  filePartHead,
  MULTIPART_TYPE,
  manyFieldParts,
  multipartBody,
} from './multipart-bodies.ts';

const TOKEN = 'hostile-input-admin-token-0123456789';
const MAX_UPLOAD = 2 * 1024 * 1024;
/** Safety bound on RSS growth per attack: generous, it catches buffering whole bodies. */
const RSS_BOUND = 96 * 1024 * 1024;

type ErrorBody = { error: { code: string; message: string; requestId: string } };
type Images = { images: { id?: string; originalName: string; error?: { code: string } }[] };

function errorOf(response: StreamedResponse): ErrorBody['error'] {
  const parsed = JSON.parse(response.body) as ErrorBody;
  expect(parsed.error.requestId, response.body).toBeTruthy();
  return parsed.error;
}

/** Regular files under `dir`, relative, recursively ('' when the folder does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('the backend process under hostile input', () => {
  let dir: string;
  let storeRoot: string;
  let backend: BackendProcess;
  let baselineRss: number;
  const upload = `/api/admin/upload`;
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': MULTIPART_TYPE };
  const post = (body: Iterable<Buffer> | AsyncIterable<Buffer>, extra = {}) =>
    streamRequest(`${backend.url}${upload}`, { ...headers, ...extra }, body);
  const healthy = async () => {
    const response = await fetch(`${backend.url}/healthz`);
    expect(response.status).toBe(200);
  };
  const imageRows = async () => {
    const response = await fetch(`${backend.url}/status`);
    const status = (await response.json()) as { counts: Record<string, number> };
    return Object.values(status.counts).reduce((a, b) => a + b, 0);
  };
  const originals = () => filesUnder(join(storeRoot, 'originals')).sort();
  let before: string[] = [];
  let rowsBefore = 0;
  beforeEach(async () => {
    before = originals();
    rowsBefore = await imageRows();
  });
  /** No new original and no temp file left: what a refused or aborted upload must leave behind. */
  const nothingHalfWritten = () => {
    expect(originals()).toEqual(before);
    expect(filesUnder(join(storeRoot, '.objectstore', 'tmp'))).toEqual([]);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'backend-hostile-'));
    storeRoot = join(dir, 'storage');
    backend = await startBackendProcess({
      DATA_DIR: dir,
      DISPATCH: 'dry-run',
      ADMIN_TOKENS: TOKEN,
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
      UPLOAD_IDLE_TIMEOUT_MS: '2000',
      HEADERS_TIMEOUT_MS: '1500',
      REQUEST_TIMEOUT_MS: '6000',
    });
    await healthy();
    baselineRss = rssBytes(backend.child.pid!);
  });
  afterAll(async () => {
    if (backend) {
      backend.child.kill('SIGTERM');
      expect(await backend.exited()).toBe(0);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a body of 200,000 parts with 413 without reading it to the end', async () => {
    const response = await post(manyFieldParts(200_000));
    expect(response.status, response.body).toBe(413);
    expect(errorOf(response).code).toBe('PAYLOAD_TOO_LARGE');
    expect(response.wroteAll).toBe(false);
    await healthy();
    expect(await imageRows()).toBe(rowsBefore);
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('answers 413 as soon as a file passes the limit, without reading the other 60 MB', async () => {
    const head = filePartHead('big.png', 'image/png');
    const response = await post(fileOfSize(Buffer.concat([head, makePng(8, 8, 1)]), 64 << 20));
    expect(response.status, response.body).toBe(413);
    expect(errorOf(response).code).toBe('PAYLOAD_TOO_LARGE');
    expect(response.wroteAll).toBe(false);
    expect(response.bytesWritten).toBeLessThan(32 << 20);
    nothingHalfWritten();
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('answers 413 to a part not named "file" once it passes the multipart overhead limit, without reading the other 60 MB', async () => {
    const head = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="other"; filename="x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const response = await post(fileOfSize(head, 64 << 20));
    expect(response.status, response.body).toBe(413);
    expect(errorOf(response).code).toBe('PAYLOAD_TOO_LARGE');
    expect(response.wroteAll).toBe(false);
    expect(response.bytesWritten).toBeLessThan(32 << 20);
    nothingHalfWritten();
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('cuts a 60 MB text field and 60 MB after the closing boundary at the overhead limit, without reading them', async () => {
    const field = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n`,
    );
    const text = await post(fileOfSize(field, 64 << 20));
    expect(text.status, text.body).toBe(413);
    expect(errorOf(text).code).toBe('PAYLOAD_TOO_LARGE');
    expect(text.wroteAll).toBe(false);
    expect(text.bytesWritten).toBeLessThan(32 << 20);

    // The file before the epilogue is stored and reported; the rest of the request is refused.
    const complete = multipartBody([
      { head: filePartHead('ok.png', 'image/png'), bytes: makePng(8, 8, 50) },
    ]);
    const epilogue = await post(fileOfSize(complete, 64 << 20));
    expect(epilogue.status, epilogue.body).toBe(202);
    const { images } = JSON.parse(epilogue.body) as Images;
    expect(images.map((i) => i.error?.code ?? 'accepted')).toEqual([
      'accepted',
      'PAYLOAD_TOO_LARGE',
    ]);
    expect(epilogue.wroteAll).toBe(false);
    expect(epilogue.bytesWritten).toBeLessThan(32 << 20);
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('refuses a 200 MB login body with 413 whether it is declared or streamed, reading at most its limit', async () => {
    const login = `${backend.url}/api/admin/login`;
    const json = { 'Content-Type': 'application/json' };
    // Yields to the event loop after every chunk: the server drains the refused body for a
    // moment, so writes never block, and a client that never yields would not see the answer.
    async function* password(total: number) {
      for (const chunk of fileOfSize(Buffer.from('{"password":"'), total)) {
        yield chunk;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const declared = await streamRequest(
      login,
      { ...json, 'Content-Length': String(200 << 20) },
      password(200 << 20),
    );
    expect(declared.status, declared.body).toBe(413);
    expect(errorOf(declared).code).toBe('PAYLOAD_TOO_LARGE');
    expect(declared.wroteAll).toBe(false);
    const streamed = await streamRequest(login, json, password(200 << 20));
    expect(streamed.status, streamed.body).toBe(413);
    expect(errorOf(streamed).code).toBe('PAYLOAD_TOO_LARGE');
    expect(streamed.wroteAll).toBe(false);
    expect(streamed.bytesWritten).toBeLessThan(32 << 20);
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('cuts a login body that stops arriving with 408 after the idle timeout', async () => {
    let release = () => {};
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    async function* slow() {
      yield Buffer.from('{"password":"');
      await stalled;
    }
    const response = await streamRequest(
      `${backend.url}/api/admin/login`,
      { 'Content-Type': 'application/json' },
      slow(),
    );
    release();
    expect(response.status, response.body).toBe(408);
    expect(errorOf(response).code).toBe('REQUEST_TIMEOUT');
    await healthy();
  });

  it('reports the files stored before a malformed part instead of hiding them behind an error', async () => {
    const good = { head: filePartHead('good.png', 'image/png'), bytes: makePng(8, 8, 40) };
    const bad = {
      head: filePartHead(`${'n'.repeat(20_000)}.png`, 'image/png'),
      bytes: makePng(8, 8, 41),
    };
    const response = await post([multipartBody([good, bad])]);
    expect(response.status, response.body).toBe(202);
    const { images } = JSON.parse(response.body) as Images;
    expect(images).toHaveLength(2);
    expect(images[0]).toMatchObject({ originalName: 'good.png' });
    expect(images[1]).toMatchObject({
      originalName: '(rest of the request)',
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(originals()).toEqual([...before, images[0]!.id!].sort());
  });

  it('refuses a part whose header block is 100 KB with the error shape', async () => {
    const head = filePartHead('a.png', 'image/png', `X-Padding: ${'a'.repeat(100_000)}\r\n`);
    const response = await post([multipartBody([{ head, bytes: makePng(8, 8, 2) }])]);
    expect(response.status, response.body).toBe(400);
    expect(errorOf(response).code).toBe('VALIDATION_FAILED');
    nothingHalfWritten();
    await healthy();
  });

  it('answers 431 to a request whose header block passes 16 KiB', async () => {
    const response = await streamRequest(
      `${backend.url}${upload}`,
      { ...headers, 'X-Padding': 'p'.repeat(20_000) },
      [Buffer.from('x')],
    ).then(
      (r) => `HTTP ${r.status}`,
      (error: Error) => `dropped: ${error.message}`,
    );
    expect(response).toBe('HTTP 431');
    await healthy();
  });

  it('ignores part headers past the twentieth instead of collecting thousands', async () => {
    // 1,200 header lines (~13 KB): under busboy's 16 KiB block limit, far over its 20 pairs.
    const many = Array.from({ length: 1_200 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const head = filePartHead('many.png', 'image/png', many);
    const response = await post([multipartBody([{ head, bytes: makePng(8, 8, 5) }])]);
    expect(response.status, response.body).toBe(202);
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('times out 40 uploads that stall at once, frees them all, and keeps answering meanwhile', async () => {
    let release = () => {};
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    async function* stalling(seed: number) {
      yield filePartHead(`stall-${seed}.png`, 'image/png');
      yield Buffer.concat([makePng(8, 8, 100 + seed), Buffer.alloc(300 * 1024, seed)]);
      await stalled;
    }
    const answers = Array.from({ length: 40 }, (_, i) => post(stalling(i)));
    await healthy();
    const responses = await Promise.all(answers);
    release();
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 408));
    nothingHalfWritten();
    expect(await imageRows()).toBe(rowsBefore);
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });

  it('times out a file part that never ends with 408 and deletes what it had stored', async () => {
    let release = () => {};
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    async function* neverEnding() {
      yield filePartHead('stall.png', 'image/png');
      yield Buffer.concat([makePng(8, 8, 3), Buffer.alloc(512 * 1024, 7)]);
      await stalled;
    }
    const answer = post(neverEnding());
    await sleep(200);
    await healthy();
    const response = await answer;
    release();
    expect(response.status, response.body).toBe(408);
    expect(errorOf(response).code).toBe('REQUEST_TIMEOUT');
    nothingHalfWritten();
    await healthy();
  });

  it('cuts off a body trickled a byte at a time once the request timeout passes', async () => {
    let stop = false;
    async function* trickle() {
      yield filePartHead('loris.png', 'image/png');
      yield Buffer.concat([makePng(8, 8, 4), Buffer.alloc(512 * 1024, 9)]);
      // One byte every 250 ms: never silent for the 2 s idle timeout, so only the
      // 6 s request timeout can end it (bounded: 200 bytes at most).
      for (let i = 0; i < 200 && !stop; i++) {
        await sleep(250);
        yield Buffer.from([i & 255]);
      }
    }
    const outcome = await post(trickle()).then(
      (r) => `HTTP ${r.status}`,
      (error: Error) => `dropped: ${error.message}`,
    );
    stop = true;
    expect(outcome).toMatch(/^HTTP 408$|^dropped: /);
    // The socket is gone; the receiver notices within the idle timeout and cleans up (bounded
    // well past that timeout: a loaded machine may be slow to get there).
    const leftovers = () =>
      originals().length -
      before.length +
      filesUnder(join(storeRoot, '.objectstore', 'tmp')).length;
    for (let i = 0; i < 300 && leftovers() > 0; i++) await sleep(100);
    nothingHalfWritten();
    expect(await imageRows()).toBe(rowsBefore);
    await healthy();
  });

  it('closes a connection whose headers trickle in slower than the headers timeout', async () => {
    const { port } = new URL(backend.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => {
      received += String(d);
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => socket.destroy());
    socket.write(`POST ${upload} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    let sent = 0;
    // Bounded: at most 60 header bytes, one every 250 ms, until the server hangs up.
    for (; sent < 60 && !socket.destroyed && socket.readyState === 'open'; sent++) {
      socket.write('X');
      await sleep(250);
    }
    await Promise.race([closed, sleep(5_000)]);
    expect(socket.destroyed || socket.readyState !== 'open').toBe(true);
    expect(sent).toBeLessThan(60);
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
    socket.destroy();
    await healthy();
  });

  it('keeps hostile filenames for display only: no path, no NUL, valid UTF-8, at most 200 characters', async () => {
    const names: (string | Buffer)[] = [
      '../../../etc/passwd.png',
      '..\\..\\windows\\win.ini.png',
      Buffer.from([0xff, 0xfe, 0x80, 0x2e, 0x70, 0x6e, 0x67]),
      `${'long'.repeat(250)}.png`,
    ];
    const body = multipartBody(
      names.map((name, i) => ({
        head: filePartHead(name, 'image/png'),
        bytes: makePng(8, 8, 10 + i),
      })),
    );
    const response = await post([body]);
    expect(response.status, response.body).toBe(202);
    const { images } = JSON.parse(response.body) as Images;
    expect(images).toHaveLength(names.length);
    for (const image of images) {
      expect(image.id, JSON.stringify(image)).toMatch(/^img_[a-z2-7]{26}$/);
      expect(image.originalName).not.toMatch(/[\\/]/);
      expect(image.originalName.includes(String.fromCharCode(0))).toBe(false);
      expect(Array.from(image.originalName).length).toBeLessThanOrEqual(200);
      expect(Buffer.from(image.originalName, 'utf8').toString('utf8')).toBe(image.originalName);
    }
    expect(images.map((i) => i.originalName).slice(0, 3)).toEqual([
      'passwd.png',
      'win.ini.png',
      '\ufffd\ufffd\ufffd.png',
    ]);
    expect(originals()).toEqual([...before, ...images.map((i) => i.id!)].sort());
  });

  it('refuses a raw NUL byte in a part header as a malformed body', async () => {
    const head = filePartHead(Buffer.from('nul\u0000byte.png', 'utf8'), 'image/png');
    const response = await post([multipartBody([{ head, bytes: makePng(8, 8, 30) }])]);
    expect(response.status, response.body).toBe(400);
    expect(errorOf(response)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'malformed multipart body: Malformed part header',
    });
    nothingHalfWritten();
  });

  it('drops a percent-encoded NUL from an RFC 5987 filename', async () => {
    const head = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''nul%00byte%2F..%2Fa.png\r\nContent-Type: image/png\r\n\r\n`,
    );
    const response = await post([multipartBody([{ head, bytes: makePng(8, 8, 31) }])]);
    expect(response.status, response.body).toBe(202);
    expect((JSON.parse(response.body) as Images).images[0]!.originalName).toBe('a.png');
  });

  it('trusts magic bytes over every declared type', async () => {
    const notMultipart = await streamRequest(
      `${backend.url}${upload}`,
      { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'image/png' },
      [makePng(8, 8, 20)],
    );
    expect(notMultipart.status, notMultipart.body).toBe(415);
    expect(errorOf(notMultipart).code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const text = Buffer.from('just some text, not an image at all\n'.repeat(10));
    const lie = await post([
      multipartBody([{ head: filePartHead('a.png', 'image/png'), bytes: text }]),
    ]);
    expect(lie.status, lie.body).toBe(415);
    expect(errorOf(lie).code).toBe('UNSUPPORTED_FORMAT');

    const html = await post([
      multipartBody([{ head: filePartHead('page.html', 'text/html'), bytes: makePng(8, 8, 21) }]),
    ]);
    expect(html.status, html.body).toBe(202);
    const id = (JSON.parse(html.body) as Images).images[0]!.id!;
    const detail = await fetch(`${backend.url}/api/images/${id}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(await detail.json()).toMatchObject({ contentType: 'image/png', format: 'png' });
  });

  it('accepts a JPEG with HTML appended as a JPEG and never serves anything as HTML', async () => {
    const jpeg = await sharp({
      create: { width: 16, height: 16, channels: 3, background: '#336699' },
    })
      .jpeg()
      .toBuffer();
    const polyglot = Buffer.concat([jpeg, Buffer.from('<html><script>alert(1)</script></html>')]);
    const response = await post([
      multipartBody([{ head: filePartHead('x.html', 'text/html'), bytes: polyglot }]),
    ]);
    expect(response.status, response.body).toBe(202);
    const id = (JSON.parse(response.body) as Images).images[0]!.id!;
    const detail = await fetch(`${backend.url}/api/images/${id}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(await detail.json()).toMatchObject({ contentType: 'image/jpeg', format: 'jpeg' });
    expect((await fetch(`${backend.url}/media/originals/${id}`)).status).toBe(404);

    // Even a variant stored with an HTML type is served as bytes, with nosniff and no scripts.
    const store = createFsObjectStore({ root: storeRoot });
    const key = `variants/${id}/evil.html`;
    await store.put(key, polyglot, { contentType: 'text/html' });
    const media = await fetch(`${backend.url}/media/${key}`);
    expect(media.status).toBe(200);
    expect(media.headers.get('content-type')).toBe('application/octet-stream');
    expect(media.headers.get('x-content-type-options')).toBe('nosniff');
    expect(media.headers.get('content-security-policy')).toBe("default-src 'none'");
    await media.arrayBuffer();
  });

  it('still answers and stays within its memory bound after every attack above', async () => {
    await healthy();
    expect(rssBytes(backend.child.pid!) - baselineRss).toBeLessThan(RSS_BOUND);
  });
});
