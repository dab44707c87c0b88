/**
 * `npm start` (tools/start-local.ts) when a server of its stack dies after start-up, as
 * local-cloud did once out of memory: killed with SIGKILL here, the launcher says which one,
 * how it ended and where its log is, stops the other one, releases DATA_DIR and exits 1,
 * leaving no process behind (before, it kept running beside half a stack, printing nothing).
 * Its data folder is private to the user (docs/security.md, "Local stack"): a new one is made
 * 0700, a wider one it owns is narrowed to 0700, saying so (before: 0755, as the umask left it).
 * A log it cannot write (a full disk; here the log is /dev/full, which fails every write with
 * ENOSPC) is named with the error and the stack stopped the same way (before: the launcher died
 * of an unhandled 'error' event with a stack trace, leaving its pid file and the lease behind).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@slideshow/tools/stack-children';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectLeaseReleased,
  killLeftovers,
  processesUsing,
  type StartLocal,
  startLocal,
} from './start-local-support.ts';

/** The pid of the stack's server whose command line runs `entry`. */
function pidOf(dataDir: string, entry: string): number {
  const found = processesUsing(dataDir).filter((p) => p.command.includes(entry));
  if (found.length !== 1) throw new Error(`not one ${entry}: ${JSON.stringify(found)}`);
  return (found[0] as { pid: number }).pid;
}

/** The permission bits of `path`, in octal. */
function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/**
 * SIGKILLs the stack's server running `entry`, then expects the launcher to stop the rest:
 * exit 1 after "Stopped.", DATA_DIR released, no process of the stack left.
 */
async function killAndExpectStop(run: StartLocal, dataDir: string, entry: string): Promise<void> {
  process.kill(pidOf(dataDir, entry), 'SIGKILL');
  expect(await run.exited(120_000), run.output()).toBe(1);
  expect(run.output()).toMatch(/Stopped\.\n$/);
  expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);
  expect(processesUsing(dataDir)).toEqual([]);
}

describe('npm start when local-cloud or the backend dies after start-up', () => {
  let root: string;
  const runs: { run: StartLocal; dataDir: string }[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'start-local-supervision-'));
  });
  afterAll(async () => {
    for (const { run, dataDir } of runs) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGINT');
        await run.exited(60_000);
      }
      // A test that failed may leave a server or a job task behind: end it by pid.
      killLeftovers(dataDir);
    }
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function start(dataDir: string): Promise<StartLocal> {
    const run = startLocal({
      PORT: String(await freePort()),
      LOCAL_CLOUD_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    });
    runs.push({ run, dataDir });
    return run;
  }

  it('narrows a wider data folder to 0700; when local-cloud dies, names it, how it ended and its log, stops the backend and exits 1', async () => {
    // A folder that had its samples (so no job runs), readable by everyone.
    const dataDir = join(root, 'existing');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'samples-uploaded'), 'earlier\n');
    chmodSync(dataDir, 0o755);
    const run = await start(dataDir);
    await run.waitFor('Samples: none uploaded', 180_000);
    // Narrowed before anything was written there, saying so.
    expect(modeOf(dataDir)).toBe('700');
    expect(run.output()).toContain(`Narrowed ${dataDir} to 0700 (it was 0755)`);

    await killAndExpectStop(run, dataDir, 'apps/local-cloud/src/main.ts');
    expect(run.output()).toContain(
      `local-cloud stopped unexpectedly (killed by SIGKILL); its log is ${join(dataDir, 'logs', 'local-cloud.log')}. Stopping the backend …`,
    );
  }, 300_000);

  it('makes a new data folder 0700; when the backend dies amid the samples, names it, stops local-cloud and its jobs, and exits 1', async () => {
    const dataDir = join(root, 'new');
    const run = await start(dataDir);
    await run.waitFor('Press Ctrl-C to stop.', 180_000);
    // A folder npm start makes is private from the start.
    expect(modeOf(dataDir)).toBe('700');
    expect(run.output()).not.toContain('Narrowed');
    // The samples accepted: the backend dies with their jobs queued or running.
    await run.waitFor(' accepted', 300_000);

    await killAndExpectStop(run, dataDir, 'apps/backend/src/main.ts');
    expect(run.output()).toContain(
      `The backend stopped unexpectedly (killed by SIGKILL); its log is ${join(dataDir, 'logs', 'backend.log')}. Stopping local-cloud …`,
    );
  }, 600_000);

  it('when a log cannot be written (a full disk), names the log and the error, stops the stack, releases DATA_DIR and the lease, and exits 1', async () => {
    const dataDir = join(root, 'full-disk');
    mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'samples-uploaded'), 'earlier\n');
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    const log = join(dataDir, 'logs', 'backend.log');
    symlinkSync('/dev/full', log);
    const run = await start(dataDir);

    expect(await run.exited(180_000), run.output()).toBe(1);
    expect(run.output()).toContain(
      `Could not write the backend's log ${log}: ENOSPC: no space left on device, write (the disk holding it is full).`,
    );
    expect(run.output()).toMatch(/Stopped\.\n$/);
    expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);
    expect(processesUsing(dataDir)).toEqual([]);
    // Stopped, not crashed: the backend released the database lease for the next start.
    expectLeaseReleased(dataDir);
  }, 300_000);
});
