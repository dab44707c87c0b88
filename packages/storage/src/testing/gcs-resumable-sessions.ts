/**
 * Chunked resumable uploads for the firebase-tools Storage emulator, which
 * finalises a resumable session on its first `PUT` whatever its
 * `Content-Range`, answers no status query and cannot cancel. Cloud Storage
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads) takes
 * the bytes in chunks (`Content-Range: bytes F-L/T`, each chunk but the last a
 * multiple of 256 KiB) and answers `308` with `Range: bytes=0-N` until the
 * last one; an empty `PUT` with a `*` range asks for that status; `DELETE`
 * cancels (499), after which the session is gone (404). A browser may send the
 * chunks cross-origin: Cloud Storage answers them (and their preflight) for
 * the `Origin` of the request that opened the session
 * (https://cloud.google.com/storage/docs/cross-origin). This layer, in front
 * of the emulator's app, does the same:
 *
 * - it notes the `Origin` and declared size (`X-Upload-Content-Length`) of
 *   every session the emulator opens (from the `Location` it answers);
 * - it keeps chunks in memory and answers 308 until the last byte, then
 *   hands the whole body to the emulator in one `PUT` (without
 *   `Content-Range`, which the emulator's own path takes) and relays its answer;
 * - a `PUT` whose range is open-ended (`bytes F-*` + `/T`, how the Node client
 *   streams a whole upload) goes to the emulator untouched, as before.
 *
 * Test infrastructure only: it holds bodies in memory, as the emulator does.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  parseUploadContentRange,
  UPLOAD_CHUNK_MULTIPLE,
  type UploadRange,
} from '../upload-range.ts';

interface Session {
  origin: string | undefined;
  size: number | undefined;
  chunks: Buffer[];
  received: number;
  state: 'open' | 'complete' | 'cancelled';
  /** The emulator's answer to the final PUT (status and JSON body). */
  result?: { status: number; body: string };
}

const UPLOAD = /^\/upload\/storage\/v1\/b\/[^/]+\/o\/?$/;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function corsHeaders(session: Session, req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || !session.origin || (session.origin !== '*' && session.origin !== origin)) {
    return {};
  }
  return { 'Access-Control-Allow-Origin': session.origin, Vary: 'Origin' };
}

function googleError(res: ServerResponse, status: number, message: string, extra = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', ...extra });
  res.end(JSON.stringify({ error: { code: status, message, errors: [{ message }] } }));
}

/** Answers a CORS preflight: allowed for the session's origin only. */
function preflight(res: ServerResponse, cors: Record<string, string>): void {
  res.writeHead(Object.keys(cors).length > 0 ? 200 : 403, {
    ...cors,
    'Access-Control-Allow-Methods': 'PUT, DELETE',
    'Access-Control-Allow-Headers': 'Content-Range, Content-Type',
    'Access-Control-Max-Age': '3600',
  });
  res.end();
}

/**
 * Takes a chunk (`bytes F-L`) into the session, or says why not as Cloud
 * Storage would: a body that does not fill the range, a gap before it, or a
 * chunk that is not the last and not a multiple of 256 KiB. A chunk that
 * overlaps bytes already held adds only the new ones.
 */
function acceptChunk(
  session: Session,
  range: Extract<UploadRange, { kind: 'bytes' }>,
  body: Buffer,
  size: number | undefined,
): { status: number; message: string } | undefined {
  const length = range.last - range.first + 1;
  if (body.length !== length) {
    return { status: 400, message: `the body has ${body.length} bytes, the range ${length}` };
  }
  if (range.first > session.received) {
    return { status: 503, message: 'the chunk does not start where the session stands' };
  }
  const final = size !== undefined && range.last + 1 === size;
  if (!final && length % UPLOAD_CHUNK_MULTIPLE !== 0) {
    return {
      status: 400,
      message: `Invalid request. The number of bytes uploaded is required to be a multiple of ${UPLOAD_CHUNK_MULTIPLE}, except for the final request`,
    };
  }
  const fresh = body.subarray(session.received - range.first);
  session.chunks.push(fresh);
  session.received += fresh.length;
  session.size ??= range.total;
  return undefined;
}

/** Notes the session the emulator opens for this request: its id is in the Location it answers. */
function noteSession(
  req: IncomingMessage,
  res: ServerResponse,
  sessions: Map<string, Session>,
): void {
  const declared = Number(req.headers['x-upload-content-length']);
  const origin = req.headers.origin;
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => {
    if (name.toLowerCase() === 'location') {
      const id = new URL(String(value)).searchParams.get('upload_id');
      if (id) {
        sessions.set(id, {
          origin,
          size: Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined,
          chunks: [],
          received: 0,
          state: 'open',
        });
      }
    }
    return setHeader(name, value);
  };
}

/**
 * Wraps the emulator's request listener with chunked resumable sessions.
 * `selfUrl()` is this server's base URL, where the final `PUT` goes.
 */
export function withResumableSessions(
  app: RequestListener,
  selfUrl: () => string,
): RequestListener {
  const sessions = new Map<string, Session>();

  const finish = async (url: string, session: Session): Promise<void> => {
    const response = await fetch(`${selfUrl()}${url}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.concat(session.chunks),
    });
    session.chunks = [];
    session.result = { status: response.status, body: await response.text() };
    session.state = 'complete';
  };

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    session: Session,
  ): Promise<void> => {
    const cors = corsHeaders(session, req);
    if (req.method === 'OPTIONS') return preflight(res, cors);
    if (req.method === 'DELETE') {
      await readBody(req);
      if (session.state === 'cancelled') return googleError(res, 404, 'No such upload', cors);
      session.state = 'cancelled';
      session.chunks = [];
      res.writeHead(499, cors);
      res.end();
      return;
    }
    const body = await readBody(req);
    if (session.state === 'cancelled') return googleError(res, 404, 'No such upload', cors);
    if (session.state === 'complete' && session.result) {
      res.writeHead(session.result.status, { 'Content-Type': 'application/json', ...cors });
      res.end(session.result.body);
      return;
    }
    let range: ReturnType<typeof parseUploadContentRange>;
    try {
      range = parseUploadContentRange(req.headers['content-range']);
    } catch (error) {
      return googleError(res, 400, (error as Error).message, cors);
    }
    const size = range.total ?? session.size;
    if (size !== undefined && session.size !== undefined && size !== session.size) {
      return googleError(res, 400, `the upload is ${session.size} bytes`, cors);
    }
    if (range.kind === 'bytes') {
      const refused = acceptChunk(session, range, body, size);
      if (refused) return googleError(res, refused.status, refused.message, cors);
    }
    if (session.size !== undefined && session.received >= session.size) {
      await finish(`${url.pathname}${url.search}`, session);
      const result = session.result ?? { status: 500, body: '{}' };
      res.writeHead(result.status, { 'Content-Type': 'application/json', ...cors });
      res.end(result.body);
      return;
    }
    const headers: Record<string, string> = { ...cors };
    if (session.received > 0) headers.Range = `bytes=0-${session.received - 1}`;
    res.writeHead(308, headers);
    res.end();
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const uploadId = url.searchParams.get('upload_id');
    if (UPLOAD.test(url.pathname) && uploadId !== null) {
      const session = sessions.get(uploadId);
      const contentRange = req.headers['content-range'];
      const streamingWhole = req.method === 'PUT' && /^bytes \d+-\*\//.test(contentRange ?? '');
      if (session && req.method === 'PUT' && contentRange === undefined) {
        // The final hand-over of this layer to the emulator.
        app(req, res);
        return;
      }
      if (session && !streamingWhole) {
        handle(req, res, url, session).catch((error: unknown) => {
          if (!res.headersSent) googleError(res, 500, String(error));
          else res.destroy();
        });
        return;
      }
      app(req, res);
      return;
    }
    if (
      req.method === 'POST' &&
      UPLOAD.test(url.pathname) &&
      (url.searchParams.get('uploadType') ?? req.headers['x-goog-upload-protocol']) === 'resumable'
    ) {
      noteSession(req, res, sessions);
    }
    app(req, res);
  };
}
