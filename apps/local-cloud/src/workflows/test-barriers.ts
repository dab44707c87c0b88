/**
 * Test helpers that prove concurrency by structure, never by timing: a
 * loopback server that answers only once every expected request has arrived,
 * a host sleep that returns only once enough sleeps wait together, and one
 * that counts how many sleeps run at once. Each wait is bounded so that a
 * sequential engine fails the test instead of hanging it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunContext } from './context.ts';

/** A server that holds every request until `expected` have arrived (or answers 504 after `giveUpMs`). */
export async function barrierServer(expected: number, giveUpMs = 10_000) {
  const pending: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const answer = (status: number) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, together: pending.length }));
    };
    const timer = setTimeout(() => answer(504), giveUpMs);
    pending.push(() => {
      clearTimeout(timer);
      answer(200);
    });
    if (pending.length === expected) for (const release of pending) release();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A host sleep that returns only when `expected` sleeps wait together (rejects after a bound). */
export function barrierSleep(expected: number): {
  sleep: NonNullable<RunContext['sleep']>;
  peak: () => number;
} {
  let waiting: (() => void)[] = [];
  let peak = 0;
  return {
    peak: () => peak,
    sleep: (_ms, signal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sleeps never overlapped')), 10_000);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(() => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        peak = Math.max(peak, waiting.length);
        if (waiting.length === expected) {
          const all = waiting;
          waiting = [];
          for (const release of all) release();
        }
      }),
  };
}

/** A host sleep that counts how many sleeps run at once and ends each on the next turn. */
export function countingSleep() {
  let active = 0;
  let peak = 0;
  return {
    peak: () => peak,
    sleep: async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      active--;
    },
  };
}
