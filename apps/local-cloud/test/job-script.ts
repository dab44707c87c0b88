/**
 * A tiny job program for the Cloud Run tests, written to a temp dir by each
 * test file. Its behaviour is chosen by env MODE; it records what it saw in
 * OUT_DIR so tests assert on files, not on timing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningLocalCloud } from '../src/server.ts';
import { api } from './helpers.ts';

/** The script source (plain JS, run with this Node). */
export const JOB_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const { env } = require('node:process');
const out = env.OUT_DIR;
const me = 't' + env.CLOUD_RUN_TASK_INDEX + '-a' + env.CLOUD_RUN_TASK_ATTEMPT;
// First of all: a SIGTERM that came before the handler would end the process by default.
if (env.MODE === 'ignore-term') {
  process.on('SIGTERM', () => fs.writeFileSync(path.join(out, 'got-sigterm'), me));
}
// RECORD_SIGNALS: which signal stopped the task (local-cloud's shutdown sends SIGINT, a timeout
// or a cancel SIGTERM), then exit as a stopped process does.
if (env.RECORD_SIGNALS) {
  for (const s of ['SIGTERM', 'SIGINT']) {
    process.on(s, () => {
      fs.appendFileSync(path.join(out, 'signals'), me + ' ' + s + '\\n');
      process.exit(143);
    });
  }
}
fs.appendFileSync(path.join(out, 'starts'), me + '\\n');
fs.writeFileSync(path.join(out, me + '.json'), JSON.stringify(env));
fs.writeFileSync(path.join(out, me + '.pid'), String(process.pid));
console.log(JSON.stringify({ severity: 'INFO', message: 'started ' + me }));
const mode = env.MODE;
if (mode === 'ok') process.exit(0);
if (mode === 'fail-until') process.exit(Number(env.CLOUD_RUN_TASK_ATTEMPT) >= Number(env.SUCCEED_AT) ? 0 : 3);
if (mode === 'ignore-term') setInterval(() => {}, 1000);
if (mode === 'parallel') {
  const mark = path.join(out, 'running-' + me);
  fs.writeFileSync(mark, '');
  const running = fs.readdirSync(out).filter((f) => f.startsWith('running-')).length;
  fs.appendFileSync(path.join(out, 'concurrency'), running + '\\n');
  setTimeout(() => { fs.rmSync(mark); process.exit(0); }, 300);
}
if (mode === 'memory') {
  const hold = [];
  setInterval(() => { for (let i = 0; i < 8; i++) hold.push(Buffer.alloc(4 * 1024 * 1024, 1)); }, 20);
}
if (mode === 'stdin-lifeline') {
  // What the processor does with STOP_WHEN_STDIN_CLOSES=1 (local-cloud sets it on every task).
  if (env.STOP_WHEN_STDIN_CLOSES === '1') {
    process.stdin.on('end', () => {
      fs.writeFileSync(path.join(out, 'stdin-ended'), me);
      process.exit(143);
    }).resume();
  }
  setInterval(() => {}, 1000);
}
if (mode === 'wait-for-allow') {
  setInterval(() => { if (fs.existsSync(path.join(out, 'allow'))) process.exit(0); }, 50);
}
`;

/**
 * The attempts (`t<index>-a<attempt>`) that recorded their start in `out`, in
 * order. Only complete lines count: the file exists from the moment the child
 * opens it, before its line is written, and a child stopped in between (a
 * loaded machine deschedules it there) leaves no line. Waiting for the file to
 * exist instead of for the line made a restart test see one start where there
 * were two attempts.
 */
export function startsIn(out: string): string[] {
  const file = join(out, 'starts');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean);
}

/** The pid attempt `me` recorded, once its file holds one (it is created empty first). */
export function pidOf(out: string, me = 't0-a0'): number | undefined {
  const file = join(out, `${me}.pid`);
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  return pid > 0 ? pid : undefined;
}

/** Writes the script into `dir` and returns its path. */
export function writeJobScript(dir: string): string {
  const file = join(dir, 'job.cjs');
  writeFileSync(file, JOB_SCRIPT);
  return file;
}

/** Where and what {@link createScriptJob} creates. */
export interface ScriptJob {
  project: string;
  region: string;
  /** The job id; its output folder is `<dir>/<id>`. */
  id: string;
  /** The folder the output folders go in. */
  dir: string;
  /** The job script (from {@link writeJobScript}). */
  script: string;
  env: Record<string, string>;
  taskCount?: number;
  maxRetries?: number;
  labels?: Record<string, string>;
}

/**
 * Creates a job running the test script over v2 REST (the backend's and the
 * local stack's way); returns the folder its tasks write to (OUT_DIR).
 */
export async function createScriptJob(
  cloud: Pick<RunningLocalCloud, 'url' | 'oauthToken'>,
  job: ScriptJob,
): Promise<string> {
  const out = join(job.dir, job.id);
  mkdirSync(out);
  const res = await api(
    cloud,
    'POST',
    `/v2/projects/${job.project}/locations/${job.region}/jobs?jobId=${job.id}`,
    {
      ...(job.labels ? { labels: job.labels } : {}),
      template: {
        taskCount: job.taskCount ?? 1,
        template: {
          maxRetries: job.maxRetries ?? 0,
          timeout: '120s',
          containers: [
            {
              image: 'local/test-job',
              command: ['node', job.script],
              env: Object.entries({ ...job.env, OUT_DIR: out }).map(([name, value]) => ({
                name,
                value,
              })),
            },
          ],
        },
      },
    },
  );
  if (res.status !== 200) throw new Error(`creating job ${job.id}: ${JSON.stringify(res)}`);
  return out;
}
