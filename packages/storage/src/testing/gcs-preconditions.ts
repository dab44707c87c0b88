/**
 * Generation preconditions for the firebase-tools Storage emulator, which
 * ignores them: an upload or delete with `ifGenerationMatch` (or
 * `ifGenerationNotMatch`) succeeds whatever the object's generation (seen with
 * the official client: a create with `ifGenerationMatch=0` over an existing
 * object, and a replace with a stale generation, both answered 200).
 * Cloud Storage evaluates them and answers 412 `conditionNotMet`
 * (https://cloud.google.com/storage/docs/request-preconditions); code that
 * relies on them (the database lease in @slideshow/lease) must be tested
 * against a server that does the same, so this layer sits in front of the
 * emulator's app:
 *
 * - it serialises every mutating request per object (upload, delete, PATCH),
 *   so a check and the write it guards are atomic with respect to each other;
 * - for a request carrying a precondition it reads the object's current
 *   generation from the emulator (0 when absent, as GCS defines it) and either
 *   answers 412 in Google's JSON error format or forwards the request.
 *
 * Only the object name in the query (`name=`, as the Node client and
 * Litestream send it for media and multipart uploads) or in the path is
 * supported; a precondition on a request whose name is only in its body is
 * refused with 400 rather than silently ignored.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** Reads the current generation of `bucket/name` ("0" when there is no such object). */
export type GenerationReader = (bucket: string, name: string) => Promise<string>;

interface Target {
  bucket: string;
  name: string | undefined;
  mutating: boolean;
}

const UPLOAD = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/;
const OBJECT = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/;

function targetOf(req: IncomingMessage, url: URL): Target | undefined {
  const method = req.method ?? 'GET';
  const upload = UPLOAD.exec(url.pathname);
  if (upload?.[1] && method === 'POST') {
    return {
      bucket: decodeURIComponent(upload[1]),
      name: url.searchParams.get('name') ?? undefined,
      mutating: true,
    };
  }
  const object = OBJECT.exec(url.pathname);
  if (object?.[1] && object[2]) {
    return {
      bucket: decodeURIComponent(object[1]),
      name: decodeURIComponent(object[2]),
      mutating: method === 'DELETE' || method === 'PATCH' || method === 'PUT',
    };
  }
  return undefined;
}

function preconditionFailed(res: ServerResponse, message: string): void {
  const body = JSON.stringify({
    error: {
      code: 412,
      message,
      errors: [{ domain: 'global', reason: 'conditionNotMet', message }],
    },
  });
  res.writeHead(412, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(body);
}

/** Wraps the emulator's request listener with generation preconditions. */
export function withGenerationPreconditions(
  app: RequestListener,
  currentGeneration: GenerationReader,
): RequestListener {
  // Tail of the queue of mutating requests per object.
  const queues = new Map<string, Promise<void>>();

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const target = targetOf(req, url);
    const match = url.searchParams.get('ifGenerationMatch');
    const notMatch = url.searchParams.get('ifGenerationNotMatch');
    if (!target?.mutating || target.name === undefined) {
      if (target?.mutating && (match !== null || notMatch !== null)) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('gcs-preconditions: a precondition needs the object name in the URL');
        return;
      }
      app(req, res);
      return;
    }
    const key = `${target.bucket}/${target.name}`;
    const name = target.name;
    const previous = queues.get(key) ?? Promise.resolve();
    let done = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = previous.then(() => finished);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    // The request body waits in the socket's buffer while earlier writes finish.
    req.pause();
    res.once('close', done);
    void previous.then(async () => {
      try {
        if (match !== null || notMatch !== null) {
          const generation = await currentGeneration(target.bucket, name);
          if (match !== null && generation !== match) {
            preconditionFailed(
              res,
              `At least one of the pre-conditions you specified did not hold (ifGenerationMatch=${match}, generation ${generation}).`,
            );
            return;
          }
          if (notMatch !== null && generation === notMatch) {
            preconditionFailed(
              res,
              `At least one of the pre-conditions you specified did not hold (ifGenerationNotMatch=${notMatch}).`,
            );
            return;
          }
        }
        req.resume();
        app(req, res);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`gcs-preconditions: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  };
}
