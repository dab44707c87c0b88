/**
 * Storage benchmark (`pnpm run bench` here, or the root `npm run bench`).
 *
 * Filesystem adapter: a 64 MiB streamed put (temp file + fsync + rename + folder
 * fsync) against a baseline of a plain `pipeline` into a file in the same
 * folder, in the same run, and the live buffer memory the put holds (sampled
 * after forced GCs). GCS adapter: the same put through the real client into
 * the in-process emulator, single request vs resumable, as a ratio (the
 * emulator shares the process, so absolute figures are a lower bound).
 * Not a test: figures go to bench/results/latest.json.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Figure, formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { createFsObjectStore } from '../src/fs.ts';
import { createGcsObjectStore } from '../src/gcs.ts';
import { startGcsEmulator } from '../src/testing/gcs-emulator.ts';

const MiB = 1024 * 1024;
const FS_BYTES = 64 * MiB;
const GCS_BYTES = 6 * MiB;
const CHUNK = 256 * 1024;
const ROUNDS = 3;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A lazily generated body; calls `sample` every 4 MiB. */
function body(total: number, sample?: () => void): Readable {
  let produced = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK, total - produced);
      produced += size;
      if (sample && produced % (4 * MiB) === 0) sample();
      this.push(Buffer.alloc(size, produced % 251));
    },
  });
}

async function best(rounds: number, run: (round: number) => Promise<void>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await run(round);
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

const scratch = await mkdtemp(path.join(tmpdir(), 'storage-bench-'));
const emulator = await startGcsEmulator();
try {
  const store = createFsObjectStore({ root: path.join(scratch, 'store') });
  await store.put('warm.bin', body(4 * MiB), { contentType: 'application/octet-stream' });
  const plainMs = await best(ROUNDS, (round) =>
    pipeline(body(FS_BYTES), createWriteStream(path.join(scratch, `plain-${round}.bin`))),
  );
  const atomicMs = await best(ROUNDS, async (round) => {
    await store.put(`bench/${round}.bin`, body(FS_BYTES), {
      contentType: 'application/octet-stream',
    });
  });

  gc();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = 0;
  await store.put(
    'bench/memory.bin',
    body(FS_BYTES, () => {
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
    }),
    { contentType: 'application/octet-stream' },
  );

  const gcs = createGcsObjectStore({
    bucket: 'bench',
    apiEndpoint: emulator.endpoint,
    projectId: emulator.projectId,
    resumableThreshold: GCS_BYTES * 2,
  });
  const gcsResumable = createGcsObjectStore({
    bucket: 'bench',
    apiEndpoint: emulator.endpoint,
    projectId: emulator.projectId,
    resumableThreshold: 1,
  });
  await gcs.put('warm.bin', body(MiB), { contentType: 'application/octet-stream', size: MiB });
  await gcsResumable.put('warm-r.bin', body(MiB), {
    contentType: 'application/octet-stream',
    size: MiB,
  });
  const singleMs = await best(ROUNDS, async (round) => {
    await gcs.put(`single-${round}.bin`, body(GCS_BYTES), {
      contentType: 'application/octet-stream',
      size: GCS_BYTES,
    });
  });
  const resumableMs = await best(ROUNDS, async (round) => {
    await gcsResumable.put(`resumable-${round}.bin`, body(GCS_BYTES), {
      contentType: 'application/octet-stream',
      size: GCS_BYTES,
    });
  });

  const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
  const figures: Figure[] = [
    {
      name: 'storage: fs atomic put throughput (64 MiB stream)',
      value: mbps(FS_BYTES, atomicMs),
      unit: 'MiB/s',
      baseline: mbps(FS_BYTES, plainMs),
      target: null,
      met: null,
    },
    {
      name: 'storage: fs atomic put time / plain write time',
      value: atomicMs / plainMs,
      unit: 'x',
      baseline: 1,
      target: null,
      met: null,
    },
    {
      name: 'storage: fs put live buffer memory (64 MiB stream)',
      value: peak / MiB,
      unit: 'MiB',
      baseline: null,
      target: '<= 8 MiB',
      met: peak <= 8 * MiB,
    },
    {
      name: 'storage: gcs emulator resumable / single-request put time (6 MiB)',
      value: resumableMs / singleMs,
      unit: 'x',
      baseline: 1,
      target: null,
      met: null,
    },
  ];
  recordFigures(figures);
  process.stdout.write(`${formatFigures(figures)}\n`);
} finally {
  await emulator.stop();
  await rm(scratch, { recursive: true, force: true });
}
