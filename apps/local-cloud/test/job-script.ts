/**
 * A tiny job program for the Cloud Run tests, written to a temp dir by each
 * test file. Its behaviour is chosen by env MODE; it records what it saw in
 * OUT_DIR so tests assert on files, not on timing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The script source (plain JS, run with this Node). */
export const JOB_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const { env } = require('node:process');
const out = env.OUT_DIR;
const me = 't' + env.CLOUD_RUN_TASK_INDEX + '-a' + env.CLOUD_RUN_TASK_ATTEMPT;
fs.appendFileSync(path.join(out, 'starts'), me + '\\n');
fs.writeFileSync(path.join(out, me + '.json'), JSON.stringify(env));
fs.writeFileSync(path.join(out, me + '.pid'), String(process.pid));
console.log(JSON.stringify({ severity: 'INFO', message: 'started ' + me }));
const mode = env.MODE;
if (mode === 'ok') process.exit(0);
if (mode === 'fail-until') process.exit(Number(env.CLOUD_RUN_TASK_ATTEMPT) >= Number(env.SUCCEED_AT) ? 0 : 3);
if (mode === 'ignore-term') {
  process.on('SIGTERM', () => fs.writeFileSync(path.join(out, 'got-sigterm'), me));
  setInterval(() => {}, 1000);
}
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
