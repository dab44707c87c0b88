/**
 * Child process of backend.bench.ts, so RSS is measured in isolation: runs a
 * test backend (real app, SQLite, fs store) and a plain loopback server that
 * only copies a request body to a file, samples its own RSS every 10 ms, and
 * answers the parent over IPC: `reset` starts a new peak window, `report`
 * returns {baselineMb, peakMb}.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startTestBackend } from '../src/testing/test-backend.ts';

const MB = 1024 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'backend-bench-'));
const backend = await startTestBackend({ dataDir: dir, maxUploadBytes: 200 * MB, relay: false });
let copies = 0;
const plain = createServer((req, res) => {
  copies += 1;
  pipeline(req, createWriteStream(join(dir, `plain-${copies}.bin`))).then(
    () => res.end('{"ok":true}'),
    (error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    },
  );
});
await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;

let baseline = process.memoryUsage.rss();
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 10);

process.on('message', async (message: { type: string }) => {
  if (message.type === 'reset') {
    globalThis.gc?.();
    baseline = process.memoryUsage.rss();
    peak = baseline;
    process.send?.({ type: 'reset' });
  } else if (message.type === 'report') {
    peak = Math.max(peak, process.memoryUsage.rss());
    process.send?.({ type: 'report', baselineMb: baseline / MB, peakMb: peak / MB });
  } else if (message.type === 'stop') {
    clearInterval(sampler);
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    await backend.stop();
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  }
});
process.send?.({
  type: 'ready',
  backendUrl: backend.url,
  plainUrl,
  adminToken: backend.adminToken,
});
