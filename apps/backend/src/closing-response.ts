/**
 * The one owner of the connection policy for early answers: an answer sent
 * before its request's body has fully arrived (a 413 on a declared
 * Content-Length, an upload stopped by a limit, a 401, a 503 while starting)
 * says `Connection: close`, and the connection then closes in stages instead
 * of at once. Every answer goes through `writeHead`, whoever writes it (a
 * route, the error handler, the single-writer gate, @hono/node-server's own
 * 500), so the server's `ServerResponse` class is the place
 * (server-options.ts gives it to every server).
 *
 * Why: the rest of such a body is never read, and @hono/node-server drains it
 * for at most 500 ms before destroying the socket; an answer saying
 * `keep-alive` made the client's next request on that connection (the next
 * file's upload) fail with a reset.
 */
import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long a closing connection is still read (the unread body discarded by
 * @hono/node-server's drain) after the answer, unless the client closes first:
 * the drain's own bound.
 */
export const LINGER_MS = 500;

/**
 * Node ends a `Connection: close` answer with `socket.destroySoon()`: a full
 * close as soon as the answer is written. With the client still sending its
 * body, closing a socket with unread data resets the connection, and a client
 * busy writing then sees the reset instead of the answer (RFC 9112 §9.6,
 * "Tear-down"). So this socket closes in stages: our side is shut after the
 * answer, the body keeps being read until the client closes its side or
 * {@link LINGER_MS} passes, and only then is the socket destroyed.
 */
function closeInStages(socket: Socket): void {
  let closing = false;
  socket.destroySoon = () => {
    if (closing) return;
    closing = true;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/**
 * Whether `req` has a body still to arrive: Node's parser has not seen the whole message
 * (`complete`) and the request declares one (a chunked body, or a Content-Length above 0).
 * An answer written synchronously in the 'request' event (the gate's /readyz) comes before
 * the parser marks even a bodiless GET complete; that one keeps its connection.
 */
function bodyStillArriving(req: IncomingMessage): boolean {
  if (req.complete) return false;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return Number(req.headers['content-length'] ?? 0) > 0;
}

/** A response that says `Connection: close` when its request's body has not fully arrived. */
export class ClosingWhenBodyUnread<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  override writeHead(statusCode: number, ...rest: unknown[]): this {
    if (!this.headersSent && bodyStillArriving(this.req)) {
      this.setHeader('Connection', 'close');
      if (this.socket) closeInStages(this.socket);
    }
    // Passed on as given: `rest` is (headers) or (statusMessage, headers), writeHead's two forms.
    return super.writeHead(statusCode, ...(rest as [OutgoingHttpHeaders?]));
  }
}
