/**
 * `tools/start-local.ts` (what `npm start` runs after the build) as a process in its own
 * process group, for the e2e tests of `npm start`: its stderr collected, bounded waits, and every
 * run killed (with its group) when the test file ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '@slideshow/tools/shared-dir';
import Database from 'better-sqlite3';
import { afterAll, expect } from 'vitest';

const START_LOCAL = resolve(repoRoot, 'tools/start-local.ts');

/** A running `tools/start-local.ts`, its stderr collected. */
export interface StartLocal {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (bounded: SIGKILL after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<number | null>;
  /** Resolves once the output contains `text` (bounded; fails if the process exits first). */
  waitFor(text: string, timeoutMs: number): Promise<void>;
}

/** Every run and its data folder, so none can outlive the file (see the afterAll below). */
const runs: { child: ChildProcess; dataDir: string | undefined }[] = [];
afterAll(() => {
  for (const { child, dataDir } of runs) {
    killGroup(child);
    // Job tasks run in process groups of their own (local-cloud stops them): end any left by pid.
    if (dataDir) killLeftovers(dataDir);
  }
});

/** SIGKILLs the child's process group (start-local and any server it started that is still there). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (error) {
    // Gone between the check and the kill.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Starts `tools/start-local.ts` with `env` in its own process group (as a terminal runs it). */
export function startLocal(env: Record<string, string>): StartLocal {
  // Its own process group: a run that must be killed takes its children with it.
  const child = spawn(process.execPath, [START_LOCAL], {
    cwd: repoRoot,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  runs.push({ child, dataDir: env.DATA_DIR });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => output,
    async exited(timeoutMs = 60_000) {
      const timer = setTimeout(() => killGroup(child), timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (child.exitCode !== null) {
          throw new Error(`start-local exited (${child.exitCode}) before "${text}":\n${output}`);
        }
        if (Date.now() > deadline)
          throw new Error(`no "${text}" within ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

/** A process still running whose environment or command line names `dataDir`. */
export interface LeftoverProcess {
  pid: number;
  command: string;
}

/**
 * Every process (but this one) whose environment or command line mentions `dataDir`: the stack's
 * servers carry it as DATA_DIR / LOCAL_CLOUD_DATA_DIR, the processor's job tasks in STORAGE_URL.
 * Read from /proc, so a task in a process group of its own is found too.
 */
export function processesUsing(dataDir: string): LeftoverProcess[] {
  const found: LeftoverProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
      if (environ.includes(dataDir) || command.includes(dataDir)) found.push({ pid, command });
    } catch (error) {
      // Ended while being read (ENOENT/ESRCH), or another user's (EACCES): not one of ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ESRCH' && code !== 'EACCES') throw error;
    }
  }
  return found;
}

/** SIGKILLs every process {@link processesUsing} finds for `dataDir`; one already gone is skipped. */
export function killLeftovers(dataDir: string): void {
  for (const { pid } of processesUsing(dataDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** The JSON log lines in `text` at `severity` (the launcher prints them as `[name] {…}`). */
export function linesAt(text: string, severity: string): string[] {
  return text.split('\n').filter((line) => {
    const start = line.indexOf('{');
    if (start < 0) return false;
    const json = line.slice(start);
    try {
      return (JSON.parse(json) as { severity?: unknown }).severity === severity;
    } catch (error) {
      // A line that only looks like JSON (e.g. cut by a SIGKILL): not a log entry.
      if (error instanceof SyntaxError) return false;
      throw error;
    }
  });
}

/** Expects the data folder's database lease to be free: the backend stopped and released it. */
export function expectLeaseReleased(dataDir: string): void {
  const lease = new Database(join(dataDir, 'slideshow.db.lease'), { readonly: true });
  try {
    const row = lease.prepare('SELECT record FROM lease').get() as { record: string };
    expect(JSON.parse(row.record)).toMatchObject({ holder: null });
  } finally {
    lease.close();
  }
}
