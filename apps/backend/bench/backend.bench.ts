/**
 * Backend benchmark (`pnpm run bench` here, or the root `npm run bench`); not
 * a test. Figures go to bench/results/latest.json:
 *
 * 1. A 100 MB upload through `POST /api/admin/upload` into a backend running
 *    in a child process: RSS growth of that process (target ≤ 64 MB,
 *    docs/performance.md#targets) and throughput as a ratio to a plain loopback copy of the same
 *    bytes
 *    to a file, measured in the same child in the same run.
 * 2. Outbox relay rate: rows/s relayed through the real Cloud Tasks client to
 *    the loopback Cloud Tasks server running in another process (target
 *    ≥ 1,000/s), against plain `fetch` createTask calls to the same server.
 * 3. Upload → task created latency p50/p99 (target p99 < 100 ms), one upload
 *    at a time.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSharedSecretVerifier } from '@slideshow/callback-auth/shared-secret';
import type { TaskDispatcher } from '@slideshow/dispatch';
import { createCloudTasksDispatcher } from '@slideshow/dispatch/cloud-tasks';
import { createDryRunDispatcher } from '@slideshow/dispatch/dry-run';
import { silentLogger } from '@slideshow/runtime';
import { createFsObjectStore } from '@slideshow/storage/fs';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { hashPassword } from '../src/auth/password.ts';
import { type Backend, createBackend } from '../src/backend.ts';
import { openDatabase } from '../src/db/open-database.ts';
import type { Lifecycle } from '../src/lifecycle.ts';
import { startTestBackend } from '../src/testing/test-backend.ts';
import { makePng } from '../test/helpers.ts';

const MB = 1024 * 1024;
const UPLOAD_MB = 100;
const RELAY_ROWS = 3000;
const LATENCY_UPLOADS = 200;
const say = (line: string) => process.stderr.write(`${line}\n`);

type Message = Record<string, unknown> & { type: string };

function request(child: ChildProcess, message: Message, reply: string): Promise<Message> {
  return new Promise((resolve) => {
    const onMessage = (m: Message) => {
      if (m.type !== reply) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    if (message.type !== '') child.send(message);
  });
}

function startChild(file: string, execArgv: string[] = []) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  return { child, ready: request(child, { type: '' }, 'ready') };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

async function uploadBenchmark(): Promise<Figure[]> {
  say(`upload: ${UPLOAD_MB} MB through the backend vs a plain loopback copy (child process) …`);
  const { child, ready } = startChild('./upload-child.ts', ['--expose-gc']);
  const info = (await ready) as Message & {
    backendUrl: string;
    plainUrl: string;
    adminToken: string;
  };
  const header = makePng(64, 64, 1);
  const growth: number[] = [];
  const backendMbps: number[] = [];
  const plainMbps: number[] = [];
  try {
    // Warm-up (JIT, SQLite, store folders) so the first measured run is not charged for it.
    const warm = new FormData();
    warm.append(
      'file',
      new Blob([new Uint8Array(Buffer.concat([header, randomBytes(8 * MB)]))]),
      'warm.png',
    );
    await (
      await fetch(`${info.backendUrl}/api/admin/upload`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${info.adminToken}` },
        body: warm,
      })
    ).text();
    for (let run = 0; run < 3; run++) {
      // Fresh bytes per run: an identical file would be answered as a duplicate.
      const bytes = Buffer.concat([header, randomBytes(UPLOAD_MB * MB - header.length)]);
      const form = () => {
        const f = new FormData();
        f.append('file', new Blob([new Uint8Array(bytes)]), `big-${run}.png`);
        return f;
      };
      await request(child, { type: 'reset' }, 'reset');
      let started = performance.now();
      const response = await fetch(`${info.backendUrl}/api/admin/upload`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${info.adminToken}` },
        body: form(),
      });
      const text = await response.text();
      if (response.status !== 202) throw new Error(`upload failed: ${response.status} ${text}`);
      const seconds = (performance.now() - started) / 1000;
      const rss = (await request(child, { type: 'report' }, 'report')) as Message & {
        baselineMb: number;
        peakMb: number;
      };
      growth.push(rss.peakMb - rss.baselineMb);
      backendMbps.push(UPLOAD_MB / seconds);

      started = performance.now();
      const plain = await fetch(info.plainUrl, { method: 'POST', body: form() });
      await plain.text();
      plainMbps.push(UPLOAD_MB / ((performance.now() - started) / 1000));
      say(
        `  run ${run + 1}: RSS +${(rss.peakMb - rss.baselineMb).toFixed(1)} MB, backend ${backendMbps.at(-1)?.toFixed(0)} MB/s, plain copy ${plainMbps.at(-1)?.toFixed(0)} MB/s`,
      );
    }
  } finally {
    child.send({ type: 'stop' });
  }
  const maxGrowth = Math.max(...growth);
  const backend = median(backendMbps);
  const plain = median(plainMbps);
  return [
    {
      name: 'backend: 100 MB upload, backend RSS growth (max of 3)',
      value: maxGrowth,
      unit: 'MB',
      baseline: null,
      target: '<= 64 MB',
      met: maxGrowth <= 64,
    },
    {
      name: 'backend: 100 MB upload throughput (median of 3)',
      value: backend,
      unit: 'MB/s',
      baseline: plain,
      target: null,
      met: null,
    },
    {
      name: 'backend: 100 MB upload throughput ÷ plain loopback copy',
      value: backend / plain,
      unit: 'x',
      baseline: 1,
      target: null,
      met: null,
    },
  ];
}

/** A backend built by the one builder over a fresh temp dir, for the relay figures (not served). */
async function relayBackend(
  tag: string,
  dispatcher: TaskDispatcher,
): Promise<{ backend: Backend; db: ReturnType<typeof openDatabase>; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `backend-relay-${tag}-`));
  const db = openDatabase(join(dir, 'slideshow.db'));
  const backend = createBackend({
    db,
    store: createFsObjectStore({ root: join(dir, 'storage') }),
    dispatcher,
    callbackVerifier: createSharedSecretVerifier(randomBytes(24).toString('hex')),
    logger: silentLogger,
    mode: 'local',
    adminPasswordHash: await hashPassword(randomBytes(12).toString('hex')),
    adminTokenHashes: [],
    publicMediaBaseUrl: '/media/',
    maxUploadBytes: MB,
  });
  return {
    backend,
    db,
    async dispose() {
      await backend.stop();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function relayOverheadBenchmark(): Promise<Figure[]> {
  say(`relay overhead: ${RELAY_ROWS} outbox rows through the dry-run dispatcher …`);
  const { backend, db, dispose } = await relayBackend('dry', createDryRunDispatcher());
  try {
    seedRows(db, backend.services.lifecycle, RELAY_ROWS, 'dry');
    const started = performance.now();
    const relayed = await backend.relay.drain();
    const rate = relayed / ((performance.now() - started) / 1000);
    say(`  ${rate.toFixed(0)} rows/s`);
    return [
      {
        name: 'backend: outbox relay rate, dry-run dispatcher (relay + SQLite only)',
        value: rate,
        unit: 'rows/s',
        baseline: null,
        target: '>= 1000 rows/s',
        met: rate >= 1000,
      },
    ];
  } finally {
    await dispose();
  }
}

function seedRows(
  db: ReturnType<typeof openDatabase>,
  lifecycle: Lifecycle,
  count: number,
  tag: string,
): void {
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      lifecycle.accept({
        id: `img_${tag}${i}`,
        original_name: 'x.png',
        content_type: 'image/png',
        bytes: 1,
        sha256: randomBytes(32).toString('hex'),
        source_key: `originals/img_${tag}${i}`,
        priority: 'interactive',
        preset: 'web-v1',
        width: 1,
        height: 1,
        format: 'png',
        created_at: new Date().toISOString(),
      });
    }
  })();
}

async function relayBenchmark(fakeUrl: string): Promise<Figure[]> {
  say(`relay: ${RELAY_ROWS} outbox rows through the Cloud Tasks client to another process …`);
  const dispatcher = createCloudTasksDispatcher({
    project: 'bench',
    location: 'local',
    queues: { uploads: 'uploads', ingest: 'ingest' },
    workflow: 'process-image',
    serviceAccountEmail: 'bench@bench.iam.gserviceaccount.com',
    apiEndpoint: fakeUrl,
  });
  const { backend, db, dispose } = await relayBackend('bench', dispatcher);
  const { relay, services } = backend;
  const { lifecycle, repos } = services;
  try {
    seedRows(db, lifecycle, 300, 'warm');
    await relay.drain();
    seedRows(db, lifecycle, RELAY_ROWS, 'run');
    const started = performance.now();
    const relayed = await relay.drain();
    const rate = relayed / ((performance.now() - started) / 1000);
    if (repos.outbox.stats().pending !== 0) throw new Error('relay left rows behind');

    // Baseline: plain fetch createTask calls to the same server, same concurrency.
    const parent = `${fakeUrl}/v2/projects/bench/locations/local/queues/plain/tasks`;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < RELAY_ROWS) {
          const i = next++;
          const r = await fetch(parent, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({
              task: {
                name: `projects/bench/locations/local/queues/plain/tasks/p${i}`,
                httpRequest: { httpMethod: 'POST', url: 'http://127.0.0.1:1/', body: '' },
              },
            }),
          });
          await r.arrayBuffer();
        }
      }),
    );
    const plainRate = RELAY_ROWS / ((performance.now() - t0) / 1000);
    say(
      `  relay ${rate.toFixed(0)} rows/s; plain fetch to the same server ${plainRate.toFixed(0)} req/s`,
    );
    return [
      {
        name: 'backend: outbox relay rate via Cloud Tasks client to loopback server',
        value: rate,
        unit: 'rows/s',
        baseline: plainRate,
        target: '>= 1000 rows/s',
        met: rate >= 1000,
      },
    ];
  } finally {
    // Stops the relay and closes the dispatcher.
    await dispose();
  }
}

async function latencyBenchmark(fakeUrl: string): Promise<Figure[]> {
  say(`latency: ${LATENCY_UPLOADS} uploads, one at a time, upload start → task created …`);
  const inner = createCloudTasksDispatcher({
    project: 'bench',
    location: 'local',
    queues: { uploads: 'latency', ingest: 'latency-ingest' },
    workflow: 'process-image',
    serviceAccountEmail: 'bench@bench.iam.gserviceaccount.com',
    apiEndpoint: fakeUrl,
  });
  const waiters = new Map<string, (at: number) => void>();
  const dispatcher: TaskDispatcher = {
    async dispatch(request) {
      const result = await inner.dispatch(request);
      const argument = request.argument;
      if ('file_id' in argument) waiters.get(argument.file_id)?.(performance.now());
      return result;
    },
  };
  const backend = await startTestBackend({ dispatcher });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < LATENCY_UPLOADS + 20; i++) {
      const png = makePng(16, 16, i);
      const started = performance.now();
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)]), `${i}.png`);
      let resolveCreated: (at: number) => void = () => {};
      const created = new Promise<number>((resolve) => {
        resolveCreated = resolve;
      });
      const response = await fetch(`${backend.url}/api/admin/upload`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${backend.adminToken}` },
        body: form,
      });
      const body = (await response.json()) as { images: { id: string }[] };
      const id = body.images[0]?.id ?? '';
      waiters.set(id, resolveCreated);
      // The task may already exist by the time the response is read.
      if (backend.db.prepare('SELECT 1 FROM outbox WHERE image_id = ?').get(id) === undefined) {
        resolveCreated(performance.now());
      }
      const at = await Promise.race([
        created,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`no task for ${id} in 10 s`)), 10_000).unref(),
        ),
      ]);
      if (i >= 20) latencies.push(at - started);
    }
  } finally {
    await backend.stop();
    await inner.close?.();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  say(`  p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
  return [
    {
      name: 'backend: upload → task created latency p50',
      value: p50,
      unit: 'ms',
      baseline: null,
      target: null,
      met: null,
    },
    {
      name: 'backend: upload → task created latency p99',
      value: p99,
      unit: 'ms',
      baseline: null,
      target: '< 100 ms',
      met: p99 < 100,
    },
  ];
}

const figures: Figure[] = [];
figures.push(...(await uploadBenchmark()));
figures.push(...(await relayOverheadBenchmark()));
const fake = startChild('./fake-tasks-child.ts');
const { url } = (await fake.ready) as Message & { url: string };
try {
  figures.push(...(await relayBenchmark(url)));
  figures.push(...(await latencyBenchmark(url)));
} finally {
  fake.child.send({ type: 'stop' });
}
recordFigures(figures);
say(formatFigures(figures));
