/**
 * Whether a server keeps an idle keep-alive connection open: one request on a
 * raw socket, `idleMs` of silence, then a second request on the same socket.
 * A pooled client socket is reused exactly like this; if the server closed it
 * meanwhile, a request written in the same event-loop turn as the close meets
 * EPIPE/ECONNRESET (the race Google's front ends avoid by keeping idle
 * connections for 610 s). Resolves with the second answer's status line, or
 * `closed` if the server ended the connection first.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the probe saw. */
export interface KeepAliveProbe {
  /** The first answer's `Keep-Alive` header, e.g. `timeout=610` (absent: undefined). */
  keepAliveHeader: string | undefined;
  /** The second answer's status line, or `closed` when the server closed the idle connection. */
  second: string;
}

/** Sends `GET path` twice on one connection to `url`'s host, `idleMs` apart. */
export async function probeKeepAlive(
  url: string,
  path: string,
  idleMs: number,
  headers: Record<string, string> = {},
): Promise<KeepAliveProbe> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const request = [
    `GET ${path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n');
  try {
    socket.write(request);
    const first = await nextAnswer(
      () => received,
      () => closed,
    );
    await sleep(idleMs);
    // The first answer's body has long arrived: what comes next is the second answer.
    received = '';
    if (closed) return { keepAliveHeader: first.keepAlive, second: 'closed' };
    socket.write(request);
    const second = await nextAnswer(
      () => received,
      () => closed,
    );
    return { keepAliveHeader: first.keepAlive, second: second.statusLine };
  } finally {
    socket.destroy();
  }
}

/** Waits (bounded: 10 s) for one answer's head; `closed` if the connection ends first. */
async function nextAnswer(
  received: () => string,
  closed: () => boolean,
): Promise<{ statusLine: string; keepAlive: string | undefined }> {
  for (let waited = 0; waited < 10_000; waited += 10) {
    const text = received();
    const end = text.indexOf('\r\n\r\n');
    if (end >= 0) {
      const lines = text.slice(0, end).split('\r\n');
      const keepAlive = lines
        .find((line) => line.toLowerCase().startsWith('keep-alive:'))
        ?.slice('keep-alive:'.length)
        .trim();
      return { statusLine: lines[0] ?? '', keepAlive };
    }
    if (closed()) return { statusLine: 'closed', keepAlive: undefined };
    await sleep(10);
  }
  throw new Error('no answer within 10 s');
}
