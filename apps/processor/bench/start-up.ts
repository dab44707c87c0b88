/**
 * The start-up figure: spawn → the processor's "reading original" log line (its
 * first storage read, after the job spec and `started` callbacks to a real
 * backend on loopback), as a ratio to a bare `node -e 0` spawn → exit measured
 * in the same run; target ≤ 1.5×. Medians of interleaved runs, after one
 * warm-up run (page cache, V8 compile cache). Beside it, the floor: a script
 * that makes only the processor's first request (the job spec) and nothing
 * else, and the CPU time of both starts.
 */
import { spawn } from 'node:child_process';
import type { TestBackend } from '@slideshow/backend/testing';
import type { Figure } from '@slideshow/tools/bench-results';
import { makeJpeg, processorEnv, spawnProcessor } from '../test/helpers.ts';
import { IMAGE_ENV } from './deployed-env.ts';
import { median } from './median.ts';

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

/** The samples of the start-up runs, in milliseconds, one per run. */
interface StartUpSamples {
  /** `node -e 0`, spawn → exit. */
  bare: number[];
  /** `node -e 0`, CPU time. */
  bareCpu: number[];
  /** The processor, spawn → its first storage read. */
  toFirstRead: number[];
  /** The processor's CPU time at its first storage read, as it logs it. */
  cpuToFirstRead: number[];
  /** The job-spec-only script, spawn → its answer read. */
  minimal: number[];
}

/** `runs` interleaved runs of each start, after one warm-up run. */
async function sampleStartUp(backend: TestBackend, runs: number): Promise<StartUpSamples> {
  // Warm the page cache and the V8 compile cache (the Docker image ships a warm one).
  await bareNode();
  const warm = await backend.upload(await makeJpeg(320, 200, 999), 'warm.jpg');
  await spawnProcessor({ ...processorEnv(backend, warm.id), ...IMAGE_ENV }).done;
  const bare: number[] = [];
  const bareCpu: number[] = [];
  const toFirstRead: number[] = [];
  const cpuToFirstRead: number[] = [];
  const minimal: number[] = [];
  for (let i = 0; i < runs; i++) {
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
  return { bare, bareCpu, toFirstRead, cpuToFirstRead, minimal };
}

/** Prints the start-up medians and returns their figures. */
function startUpFigures(samples: StartUpSamples): Figure[] {
  const { bare, bareCpu, toFirstRead, cpuToFirstRead, minimal } = samples;
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
  return [
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
  ];
}

/** Measures the processor's start-up against a bare Node start, `runs` times; prints and returns its figures. */
export async function measureStartUp(backend: TestBackend, runs: number): Promise<Figure[]> {
  return startUpFigures(await sampleStartUp(backend, runs));
}
