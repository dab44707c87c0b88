/**
 * A loopback TCP proxy in front of the backend that counts the bytes the
 * browser sends and can cut every connection in the middle of a request body,
 * as a phone's network drop does. The DevTools protocol cannot do that: its
 * offline emulation leaves an upload already under way alone, and a route
 * abort fails a request before any of its body has left. Browsers send a
 * host's cookies to every port of it, so a page loaded through the proxy logs
 * in and uploads as it would directly (the backend reads `Host`, which passes
 * through unchanged).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A running {@link startCuttingProxy}. */
export interface CuttingProxy {
  /** `http://127.0.0.1:<port>`: the backend, through the proxy. */
  url: string;
  /** Bytes read from the browser so far, over every connection. */
  sent(): number;
  /**
   * Resets every open connection (both ways: the browser sees a reset, the backend an
   * aborted request) as soon as `bytes` more have come from the browser; resolves then.
   * New connections are taken as before, as after a drop of a few seconds.
   */
  cutAfter(bytes: number): Promise<void>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts a proxy on an OS-picked loopback port that forwards every connection to `target`. */
export async function startCuttingProxy(target: URL): Promise<CuttingProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let sent = 0;
  let cut: { at: number; done: () => void } | undefined;

  const cutAll = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };

  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A reset on either side ends the pair; nothing to report.
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', (data: Buffer) => {
      sent += data.length;
      if (cut && sent >= cut.at) {
        const { done } = cut;
        cut = undefined;
        cutAll();
        done();
        return;
      }
      // Backpressure: read no faster than the backend takes, so `sent` is what reached it.
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    sent: () => sent,
    cutAfter(bytes) {
      return new Promise<void>((done) => {
        cut = { at: sent + bytes, done };
      });
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
