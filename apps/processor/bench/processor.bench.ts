/**
 * Processor benchmark (targets: docs/performance.md#targets), run by `pnpm bench` on the bundle
 * that `build` wrote:
 * - start-up: spawn → the processor's "reading original" log line (its first
 *   storage read, after the job spec and `started` callbacks to a real backend
 *   on loopback), as a ratio to a bare `node -e 0` spawn → exit measured in the
 *   same run; target ≤ 1.5×. Medians of 15 interleaved runs, after one warm-up
 *   run (page cache, V8 compile cache). Beside it, the floor: a script that makes
 *   only the processor's first request (the job spec) and nothing else.
 * - one 12 MP photo through the job (spawn of the bundle → original read →
 *   variants stored → `complete` callback answered, i.e. the processor's
 *   "image processed" log line) against processImage on the same bytes in
 *   this process, interleaved, medians of ROUNDS; target ≤ 1.3×. Both use
 *   the candidate preset (IMAGING_PRESET); a web-v1 job runs in the same
 *   rounds for the cost comparison.
 * - peak RSS (the kernel's ru_maxrss, logged by the processor) of one job on a
 *   generated 50 MP JPEG with the candidate preset and the Dockerfile's
 *   MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ / VIPS_CONCURRENCY; target ≤ 600 MB.
 * - Cloud Run Jobs list price per 1,000 such 12 MP photos (packages/contracts/src/cloud-run-pricing.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestBackend } from '@slideshow/backend/testing';
import { taskCostUsd } from '@slideshow/contracts/cloud-run-pricing';
import { DEFAULT_PRESET, processImage } from '@slideshow/imaging';
import { type Figure, recordFigures } from '@slideshow/tools/bench-results';
import { seededGrain } from '@slideshow/tools/seeded-grain';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import sharp from 'sharp';
import { makeJpeg, processorEnv, spawnProcessor } from '../test/helpers.ts';

const RUNS = 15;
/** Interleaved rounds of the 12 MP comparison. */
const ROUNDS = 5;
/** The preset the figures are for (the default) and the previous default. */
const PRESET = DEFAULT_PRESET;
const BASELINE_PRESET = 'web-v1';
/** The Dockerfile's settings, so the memory figure is the deployed one. */
const IMAGE_ENV = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  VIPS_CONCURRENCY: '2',
  IMAGING_PRESET: PRESET,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Wall time of a bare `node -e 0`, spawn to exit, with no stdio (the baseline of the start-up
 * ratio: nothing but Node's own start and exit).
 */
async function bareNode(): Promise<number> {
  const start = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', () => resolve());
  });
  return Date.now() - start;
}

/**
 * The CPU time of a bare Node start, as the processor's log line reports its own
 * (`process.cpuUsage()`). A child of its own: printing the figure opens a stdout pipe,
 * which costs a bare start ~3–4 ms of wall time, so it must not time the baseline above.
 */
async function bareNodeCpuMs(): Promise<number> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-e', 'const c = process.cpuUsage(); process.stdout.write(String(c.user + c.system))'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', () => resolve());
  });
  return Number(out) / 1000;
}

/**
 * The floor of the start-up figure: a script with nothing in it but the processor's first
 * request (the job spec, node:http, the same backend and credentials), spawn → a line
 * carrying its own clock once the answer is read, as the processor's log line does.
 */
async function minimalClientMs(url: string, secret: string): Promise<number> {
  const script = [
    "require('node:http').get(process.env.JOB_SPEC_URL,",
    " { headers: { authorization: 'Bearer ' + process.env.SECRET } }, (res) => {",
    " res.resume(); res.once('end', () => {",
    " require('node:fs').writeSync(1, String(Date.now())); process.exit(res.statusCode === 200 ? 0 : 1); }); });",
  ].join('');
  const start = Date.now();
  let out = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: { JOB_SPEC_URL: url, SECRET: secret },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`the minimal job-spec client exited ${code}`);
  return Number(out) - start;
}

/** The 12 MP benchmark photo of ../shared when present, else a generated one of the same size. */
async function twelveMegapixelJpeg(): Promise<Buffer> {
  const shared = findSharedDir();
  const file = shared && join(shared, 'corpus/generated/photo-12mp-4000x3000.jpg');
  if (file && existsSync(file)) return readFileSync(file);
  return photoLikeJpeg(4000, 3000);
}

/** A 50 MP photo-like JPEG. */
function fiftyMegapixelJpeg(): Promise<Buffer> {
  return photoLikeJpeg(8660, 5774);
}

/** A photo-like JPEG: smooth gradients plus grain, so it compresses like a camera file. */
async function photoLikeJpeg(width: number, height: number): Promise<Buffer> {
  const gradient = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
        <stop offset="0" stop-color="#204080"/><stop offset="0.5" stop-color="#e0a040"/>
        <stop offset="1" stop-color="#30a060"/></linearGradient></defs>
      <rect width="100%" height="100%" fill="url(#g)"/>
      <circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#f0f0e0" fill-opacity="0.6"/>
    </svg>`,
  );
  const grain = seededGrain(width, height, 12);
  return sharp(gradient, { limitInputPixels: false })
    .composite([{ input: grain, raw: { width, height, channels: 3 }, blend: 'overlay' }])
    .jpeg({ quality: 88 })
    .toBuffer();
}

/**
 * CPU time (user + system) of a child, read from /proc/<pid>/stat every 50 ms
 * until `stop()`: Node reports no rusage for children. The last ≤ 50 ms before
 * the child exits are missed; elsewhere than Linux it reports NaN.
 */
function pollCpuMs(pid: number | undefined): { stop(): number } {
  let last = Number.NaN;
  const read = (): void => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second here).
      last = (Number(fields[11]) + Number(fields[12])) * 10;
    } catch (error) {
      // ENOENT/ESRCH: the child has exited; keep the last reading.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ESRCH') throw error;
    }
  };
  read();
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      return last;
    },
  };
}

const backend = await startTestBackend({ maxUploadBytes: 200 * 1024 * 1024 });
const figures: Figure[] = [];
try {
  // ---- start-up ----
  // Warm the page cache and the V8 compile cache (the Docker image ships a warm one).
  await bareNode();
  const warm = await backend.upload(await makeJpeg(320, 200, 999), 'warm.jpg');
  await spawnProcessor({ ...processorEnv(backend, warm.id), ...IMAGE_ENV }).done;
  const bare: number[] = [];
  const bareCpu: number[] = [];
  const toFirstRead: number[] = [];
  const cpuToFirstRead: number[] = [];
  const minimal: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(await bareNode());
    bareCpu.push(await bareNodeCpuMs());
    const { id } = await backend.upload(await makeJpeg(320, 200, 1000 + i), `startup-${i}.jpg`);
    minimal.push(
      await minimalClientMs(`${backend.url}/api/processing/${id}`, backend.callbackSecret),
    );
    const spawnedAt = Date.now();
    const child = spawnProcessor({ ...processorEnv(backend, id), ...IMAGE_ENV });
    const line = await child.waitForLog((l) => l.message === 'reading original');
    toFirstRead.push(Date.parse(String(line.time)) - spawnedAt);
    cpuToFirstRead.push(Number(line.cpuMs));
    const result = await child.done;
    if (result.code !== 0)
      throw new Error(`start-up run ${i} exited ${result.code}:\n${result.stderr}`);
  }
  const bareMs = median(bare);
  const firstReadMs = median(toFirstRead);
  const ratio = firstReadMs / bareMs;
  console.log(`node -e 0: median ${bareMs} ms of [${bare.join(', ')}]`);
  console.log(
    `processor spawn → first storage read: median ${firstReadMs} ms of [${toFirstRead.join(', ')}]`,
  );
  const minimalMs = median(minimal);
  console.log(
    `a script making only the job-spec request: median ${minimalMs} ms of [${minimal.join(', ')}] (${(minimalMs / bareMs).toFixed(2)}× node -e 0)`,
  );
  const bareCpuMs = median(bareCpu);
  const firstReadCpuMs = median(cpuToFirstRead);
  console.log(
    `CPU time: node -e 0 ${bareCpuMs.toFixed(1)} ms, processor to first read ${firstReadCpuMs} ms`,
  );
  figures.push(
    {
      name: 'processor start → first storage read',
      value: firstReadMs,
      unit: 'ms',
      baseline: bareMs,
      target: null,
      met: null,
    },
    {
      name: 'minimal job-spec client vs node -e 0 (the start-up floor)',
      value: minimalMs / bareMs,
      unit: 'x',
      baseline: 1,
      target: null,
      met: null,
    },
    {
      name: 'processor start-up CPU time vs node -e 0',
      value: firstReadCpuMs / bareCpuMs,
      unit: 'x',
      baseline: 1,
      target: null,
      met: null,
    },
    {
      name: 'processor start-up vs node -e 0',
      value: ratio,
      unit: 'x',
      baseline: 1,
      target: '<= 1.5x',
      met: ratio <= 1.5,
    },
  );

  // ---- peak RSS on a 50 MP JPEG ----
  const photo = await fiftyMegapixelJpeg();
  const { id } = await backend.upload(photo, 'fifty-megapixels.jpg');
  await sleep(100);
  const start = Date.now();
  const result = await spawnProcessor(
    { ...processorEnv(backend, id, { CALLBACK_DEADLINE_MS: '30000' }), ...IMAGE_ENV },
    { killAfterMs: 600_000 },
  ).done;
  const seconds = (Date.now() - start) / 1000;
  const finished = result.logs.find((l) => l.message === 'processor finished');
  if (result.code !== 0 || finished?.outcome !== 'processed') {
    throw new Error(`50 MP job failed (${result.code}):\n${result.stderr}`);
  }
  const peakMb = Number(finished.maxRssMb);
  console.log(
    `50 MP JPEG (${(photo.length / 1e6).toFixed(1)} MB): peak RSS ${peakMb} MB, ${seconds.toFixed(1)} s`,
  );
  figures.push(
    {
      name: 'processor peak RSS, 50 MP JPEG',
      value: peakMb,
      unit: 'MB',
      baseline: null,
      target: '<= 600 MB',
      met: peakMb <= 600,
    },
    {
      name: 'processor job time, 50 MP JPEG',
      value: seconds,
      unit: 's',
      baseline: null,
      target: null,
      met: null,
    },
    {
      name: 'processor peak RSS per megapixel, 50 MP JPEG',
      value: peakMb / 50,
      unit: 'MB/MP',
      baseline: null,
      target: null,
      met: null,
    },
    {
      name: 'processor bench load average (1 min) at the end',
      value: loadavg()[0] ?? 0,
      unit: 'load',
      baseline: null,
      target: null,
      met: null,
    },
  );
  // ---- one 12 MP photo: the job against processImage in this process ----
  // (after the 50 MP run: ru_maxrss of a child counts this process's RSS at fork time,
  // and processImage here grows it)
  const twelve = await twelveMegapixelJpeg();
  const inProcess: number[] = [];
  const job: number[] = [];
  const baselineJob: number[] = [];
  const inProcessCpu: number[] = [];
  const jobCpu: number[] = [];
  const runJob = async (preset: string, round: number): Promise<number> => {
    // A new upload each time: the same bytes would be a duplicate of the first.
    const bytes = Buffer.concat([twelve, Buffer.from(`${preset}-${round}`)]);
    const { id } = await backend.upload(bytes, `twelve-${preset}-${round}.jpg`);
    const spawnedAt = Date.now();
    const child = spawnProcessor(
      {
        ...processorEnv(backend, id, { CALLBACK_DEADLINE_MS: '30000' }),
        ...IMAGE_ENV,
        IMAGING_PRESET: preset,
      },
      { killAfterMs: 300_000 },
    );
    const cpu = pollCpuMs(child.child.pid);
    const line = await child.waitForLog((l) => l.message === 'image processed');
    const result = await child.done;
    if (result.code !== 0) throw new Error(`12 MP job exited ${result.code}:\n${result.stderr}`);
    if (preset === PRESET) jobCpu.push(cpu.stop());
    else cpu.stop();
    return Date.parse(String(line.time)) - spawnedAt;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await processImage(twelve, { preset: PRESET });
    inProcess.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    inProcessCpu.push((used.user + used.system) / 1000);
    job.push(await runJob(PRESET, round));
    baselineJob.push(await runJob(BASELINE_PRESET, round));
    console.log(
      `12 MP round ${round + 1}: in-process ${inProcess.at(-1)?.toFixed(0)} ms (CPU ${inProcessCpu.at(-1)?.toFixed(0)} ms), job ${job.at(-1)} ms (CPU ~${jobCpu.at(-1)} ms), ${BASELINE_PRESET} job ${baselineJob.at(-1)} ms; load ${loadavg()[0]?.toFixed(1)}`,
    );
  }
  const inProcessMs = median(inProcess);
  const jobMs = median(job);
  const baselineJobMs = median(baselineJob);
  const jobRatio = jobMs / inProcessMs;
  const cost = (ms: number): number => 1000 * taskCostUsd(ms / 1000);
  figures.push(
    {
      name: 'processor 12 MP job (spawn → variants stored → complete) vs in-process',
      value: jobRatio,
      unit: 'x',
      baseline: 1,
      target: '<= 1.3x',
      met: jobRatio <= 1.3,
    },
    {
      name: 'processor 12 MP job CPU time vs in-process (approximate: /proc polling)',
      value: median(jobCpu) / median(inProcessCpu),
      unit: 'x',
      baseline: 1,
      target: null,
      met: null,
    },
    {
      name: 'processor 12 MP job time',
      value: jobMs,
      unit: 'ms',
      baseline: inProcessMs,
      target: null,
      met: null,
    },
    {
      name: `processor 12 MP job time, ${PRESET} vs ${BASELINE_PRESET}`,
      value: jobMs,
      unit: 'ms',
      baseline: baselineJobMs,
      target: null,
      met: null,
    },
    {
      name: 'Cloud Run Jobs list price per 1,000 12 MP photos (2 vCPU, 2 GiB)',
      value: cost(jobMs),
      unit: 'USD',
      baseline: cost(baselineJobMs),
      target: null,
      met: null,
    },
  );

  recordFigures(figures);
} finally {
  await backend.stop();
}
