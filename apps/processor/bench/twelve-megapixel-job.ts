/**
 * The 12 MP figures: one photo through the job (spawn of the bundle → original
 * read → variants stored → `complete` callback answered, i.e. the processor's
 * "image processed" log line) against processImage on the same bytes in this
 * process, interleaved, medians of the rounds; target ≤ 1.3×. Both use the
 * candidate preset (IMAGING_PRESET); a web-v1 job runs in the same rounds for
 * the cost comparison: the Cloud Run Jobs list price per 1,000 such photos
 * (packages/contracts/src/cloud-run-pricing.ts).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { TestBackend } from '@slideshow/backend/testing';
import { taskCostUsd } from '@slideshow/contracts/cloud-run-pricing';
import { processImage } from '@slideshow/imaging';
import type { Figure } from '@slideshow/tools/bench-results';
import { processorEnv, spawnProcessor } from '../test/helpers.ts';
import { IMAGE_ENV, PRESET } from './deployed-env.ts';
import { median } from './median.ts';

/** The previous default preset, run in the same rounds for the cost comparison. */
const BASELINE_PRESET = 'web-v1';

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

/** One job's wall time (spawn → "image processed") and its CPU time (approximate: /proc polling). */
interface JobRun {
  ms: number;
  cpuMs: number;
}

/** Runs one job on `photo` with `preset`, as a new upload (the same bytes would be a duplicate of the first). */
async function runJob(
  backend: TestBackend,
  photo: Buffer,
  preset: string,
  round: number,
): Promise<JobRun> {
  const bytes = Buffer.concat([photo, Buffer.from(`${preset}-${round}`)]);
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
  try {
    const line = await child.waitForLog((l) => l.message === 'image processed');
    const result = await child.done;
    if (result.code !== 0) throw new Error(`12 MP job exited ${result.code}:\n${result.stderr}`);
    return { ms: Date.parse(String(line.time)) - spawnedAt, cpuMs: cpu.stop() };
  } finally {
    // A job that failed stops the polling too: its interval would keep the bench alive.
    cpu.stop();
  }
}

/** Samples of the interleaved rounds, in milliseconds, one per round. */
interface RoundSamples {
  inProcess: number[];
  inProcessCpu: number[];
  /** Jobs with the candidate preset, and their CPU time. */
  job: number[];
  jobCpu: number[];
  /** Jobs with BASELINE_PRESET. */
  baselineJob: number[];
}

/** `rounds` interleaved rounds of processImage in this process, a job, and a baseline-preset job, each printed. */
async function sampleRounds(
  backend: TestBackend,
  photo: Buffer,
  rounds: number,
): Promise<RoundSamples> {
  const inProcess: number[] = [];
  const job: number[] = [];
  const baselineJob: number[] = [];
  const inProcessCpu: number[] = [];
  const jobCpu: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await processImage(photo, { preset: PRESET });
    inProcess.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    inProcessCpu.push((used.user + used.system) / 1000);
    const candidate = await runJob(backend, photo, PRESET, round);
    job.push(candidate.ms);
    jobCpu.push(candidate.cpuMs);
    baselineJob.push((await runJob(backend, photo, BASELINE_PRESET, round)).ms);
    console.log(
      `12 MP round ${round + 1}: in-process ${inProcess.at(-1)?.toFixed(0)} ms (CPU ${inProcessCpu.at(-1)?.toFixed(0)} ms), job ${job.at(-1)} ms (CPU ~${jobCpu.at(-1)} ms), ${BASELINE_PRESET} job ${baselineJob.at(-1)} ms; load ${loadavg()[0]?.toFixed(1)}`,
    );
  }
  return { inProcess, inProcessCpu, job, jobCpu, baselineJob };
}

/** The figures of the rounds' medians. */
function roundFigures(samples: RoundSamples): Figure[] {
  const { inProcess, inProcessCpu, job, jobCpu, baselineJob } = samples;
  const inProcessMs = median(inProcess);
  const jobMs = median(job);
  const baselineJobMs = median(baselineJob);
  const jobRatio = jobMs / inProcessMs;
  const cost = (ms: number): number => 1000 * taskCostUsd(ms / 1000);
  return [
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
  ];
}

/**
 * Runs `photo` (the 12 MP photo: the figures' names assume it) through `rounds`
 * interleaved rounds; prints each round and returns the figures.
 */
export async function measureTwelveMegapixelJob(
  backend: TestBackend,
  photo: Buffer,
  rounds: number,
): Promise<Figure[]> {
  return roundFigures(await sampleRounds(backend, photo, rounds));
}
