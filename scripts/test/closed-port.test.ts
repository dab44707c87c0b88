import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closedPort } from './helpers/closed-port.ts';

/** What listening on `port` of `host` gives: 'listening' or the error code. */
async function tryListen(port: number, host?: string): Promise<string> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    server.listen(port, host, () => server.close(() => resolve('listening')));
  });
}

describe('closedPort (the "service is down" port of the scripts tests)', () => {
  it('refuses connections and cannot be taken by another listener meanwhile, on loopback or on every address', async () => {
    const port = await closedPort();
    // Another process that asks for this port (here: this one, the kernel checks the same)
    // is turned away, so a test never reaches a stranger's server through it.
    expect(await tryListen(port, '127.0.0.1')).toBe('EADDRINUSE');
    expect(await tryListen(port)).toBe('EADDRINUSE');
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('gives a different port each time', async () => {
    expect(await closedPort()).not.toBe(await closedPort());
  });
});
