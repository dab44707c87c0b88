/**
 * Ctrl-C of `npm start` while images are being processed, as a terminal sends
 * it: SIGINT to the whole process group (the launcher, the backend,
 * local-cloud). A requested shutdown is no error: nothing printed after the
 * signal is at ERROR level (the logs are JSON lines), the launcher exits 0,
 * and no process of the stack is left (a job task runs in a process group of
 * its own, so it is looked for in /proc). Nothing is lost: the next start on
 * the same data folder finishes every image. Closing the terminal (SIGHUP to the
 * group) stops it the same way.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@slideshow/tools/stack-children';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectLeaseReleased,
  killLeftovers,
  linesAt,
  processesUsing,
  type StartLocal,
  startLocal,
} from './start-local-support.ts';

/** The backend's log from now on: the result reads what was added since. */
function backendLogFromNow(dataDir: string): () => string {
  const file = join(dataDir, 'logs', 'backend.log');
  const size = statSync(file).size;
  return () => readFileSync(file).subarray(size).toString('utf8');
}

/** Images uploaded on top of the samples, so jobs are queued and running at the signal. */
const EXTRA_IMAGES = 12;

/** Distinct photo-sized JPEGs (random noise, so no upload is a duplicate). */
async function noiseJpegs(count: number): Promise<Buffer[]> {
  return await Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp({
        create: {
          width: 1600,
          height: 1000,
          channels: 3,
          background: { r: 20 * i, g: 120, b: 200 - 10 * i },
          noise: { type: 'gaussian', mean: 128, sigma: 40 },
        },
      })
        .jpeg({ quality: 85 })
        .toBuffer(),
    ),
  );
}

/** Image statuses in the data folder's database. */
function statuses(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'slideshow.db'), { readonly: true });
  try {
    return (db.prepare('SELECT status FROM images').all() as { status: string }[]).map(
      (r) => r.status,
    );
  } finally {
    db.close();
  }
}

/** Polls `check` every 200 ms until it is true; fails after `timeoutMs` with `what`. */
async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await sleep(200);
  }
}

/** Sizes of the log files now: what each file gains after the signal is read from there. */
function logSizes(logDir: string): Map<string, number> {
  return new Map(readdirSync(logDir).map((f) => [f, statSync(join(logDir, f)).size]));
}

describe('Ctrl-C of npm start with jobs in flight', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const runs: StartLocal[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'start-local-ctrl-c-'));
    env = {
      PORT: String(await freePort()),
      LOCAL_CLOUD_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    };
  });
  /** A later start on the same folder, once it has said it uploads no samples. */
  async function startAgain(): Promise<StartLocal> {
    const run = startLocal(env);
    runs.push(run);
    await run.waitFor('Samples: none uploaded', 180_000);
    return run;
  }
  afterAll(async () => {
    for (const r of runs) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGINT');
        await r.exited(60_000);
      }
    }
    // A test that failed may leave a job task behind (its own process group): end it by pid.
    killLeftovers(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Uploads `count` noise photos and waits until a processor task runs (jobs in flight). */
  const uploadUntilProcessing = async (run: StartLocal, count: number, prefix: string) => {
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const form = new FormData();
    for (const [i, bytes] of (await noiseJpegs(count)).entries())
      form.append('file', new Blob([new Uint8Array(bytes)]), `${prefix}-${i}.jpg`);
    const response = await fetch(`http://127.0.0.1:${env.PORT}/api/admin/upload`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status, await response.text()).toBeLessThan(300);
    // A processor task is running (found by its STORAGE_URL in /proc).
    await until(
      () => processesUsing(dataDir).some((p) => p.command.includes('processor')),
      300_000,
      () => `no processor task ran:\n${run.output()}`,
    );
  };

  it('prints no ERROR after SIGINT, exits 0 and leaves no process behind', async () => {
    const run = startLocal(env);
    runs.push(run);
    // The samples accepted first: the next start then uploads none, and counts are known.
    await run.waitFor('7 accepted', 300_000);
    await uploadUntilProcessing(run, EXTRA_IMAGES, 'extra');

    const logDir = join(dataDir, 'logs');
    const sizes = logSizes(logDir);
    const printed = run.output().length;
    // As a terminal's Ctrl-C: the whole foreground process group gets SIGINT.
    process.kill(-(run.child.pid as number), 'SIGINT');
    expect(await run.exited(60_000), run.output()).toBe(0);

    const after = run.output().slice(printed);
    expect(after).toContain('Stopped.');
    expect(linesAt(after, 'ERROR'), after).toEqual([]);
    // The log files hold the INFO lines too; none after the signal is an ERROR either.
    for (const file of logSizes(logDir).keys()) {
      const added = readFileSync(join(logDir, file)).subarray(sizes.get(file) ?? 0);
      expect(linesAt(added.toString('utf8'), 'ERROR'), file).toEqual([]);
    }
    expect(processesUsing(dataDir)).toEqual([]);
    // The work was interrupted, not finished: the next start has something to resume.
    expect(statuses(dataDir).some((s) => s !== 'processed')).toBe(true);
  }, 600_000);

  it('finishes every image on the next start in the same data folder, saying so without warnings', async () => {
    const run = await startAgain();
    // The launcher names what the last run left; resuming it is the expected way on, not a
    // warning (local-cloud re-runs the executions and job attempts the stop left on purpose).
    await run.waitFor('Unfinished from the last run: ', 30_000);
    const resumeWarnings = linesAt(run.output(), 'WARNING').filter((l) =>
      /left ACTIVE by a previous process|left unfinished|cancelled before the last stop/.test(l),
    );
    expect(resumeWarnings).toEqual([]);
    await until(
      () => statuses(dataDir).every((s) => s === 'processed'),
      600_000,
      () => `statuses ${JSON.stringify(statuses(dataDir))}:\n${run.output()}`,
    );
    // Seven samples and the extra images, none failed or lost.
    expect(statuses(dataDir)).toHaveLength(7 + EXTRA_IMAGES);
    run.child.kill('SIGINT');
    expect(await run.exited(60_000), run.output()).toBe(0);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 800_000);

  it('stops the same way when the terminal is closed (SIGHUP to the whole group)', async () => {
    const run = await startAgain();
    await uploadUntilProcessing(run, 2, 'hangup');

    const printed = run.output().length;
    const backendLog = backendLogFromNow(dataDir);
    // A closed terminal: the kernel sends SIGHUP to the foreground process group.
    process.kill(-(run.child.pid as number), 'SIGHUP');
    expect(await run.exited(60_000), run.output()).toBe(0);
    const after = run.output().slice(printed);
    expect(after).toContain('Stopped.');
    expect(linesAt(after, 'ERROR'), after).toEqual([]);
    // The backend stopped itself too: by default SIGHUP would have ended it at once, with no
    // "stopped" line. It gets two signals at about the same time, the group's SIGHUP and the
    // launcher's SIGTERM (stack.stop()), and names whichever it handled first (a busy machine
    // has delivered the SIGTERM first); the other finds it stopping already.
    const backendAfter = backendLog();
    const stopped = backendAfter
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { message?: string; signal?: string })
      .filter((l) => l.message === 'stopped');
    expect(stopped, backendAfter).toHaveLength(1);
    expect(['SIGHUP', 'SIGTERM'], backendAfter).toContain(stopped[0]?.signal);
    expect(processesUsing(dataDir)).toEqual([]);
  }, 600_000);

  it('stops the stack when the launcher itself is killed hard (SIGKILL)', async () => {
    const run = await startAgain();
    // No handler runs for SIGKILL: the backend and local-cloud see their stdin (a pipe whose
    // other end the launcher held) reach its end, and stop as on SIGTERM. (Their last log
    // lines are lost with the launcher, which copied them into logs/: the next start says so.)
    run.child.kill('SIGKILL');
    await run.exited(60_000);
    await until(
      () => processesUsing(dataDir).length === 0,
      60_000,
      () => `still running: ${JSON.stringify(processesUsing(dataDir))}`,
    );
    // A stop, not a crash: the backend released the database lease for the next start.
    expectLeaseReleased(dataDir);
    const next = await startAgain();
    expect(next.output()).toContain(
      `The last npm start here (pid ${run.child.pid}) ended without stopping the stack`,
    );
    next.child.kill('SIGINT');
    expect(await next.exited(60_000), next.output()).toBe(0);
  }, 600_000);

  it('still stops the whole stack when the closed terminal fails its writes', async () => {
    const run = await startAgain();
    const backendLog = backendLogFromNow(dataDir);
    // A closed window: the launcher's output has nowhere to go (a hung-up tty fails writes
    // with EIO; this closed pipe with EPIPE), then the hang-up reaches the group.
    run.child.stderr?.destroy();
    process.kill(-(run.child.pid as number), 'SIGHUP');
    expect(await run.exited(60_000)).toBe(0);
    // It stopped the stack and released DATA_DIR instead of dying at its first line.
    expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);
    expect(backendLog()).toContain('"message":"stopped"');
    expect(processesUsing(dataDir)).toEqual([]);
  }, 600_000);
});
