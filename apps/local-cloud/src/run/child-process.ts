/**
 * One Cloud Run task attempt as a local child process. The container's
 * `command` + `args` are spawned (the image is informational; a leading
 * `node` means this Node binary), with only the container env plus PATH,
 * HOME, TMPDIR, LANG. On timeout the child gets SIGTERM, then SIGKILL after
 * the grace period (Cloud Run: "SIGTERM … then SIGKILL 10 seconds later").
 * A memory limit is enforced on the child's resident set size by polling
 * /proc/<pid>/status and SIGKILL on excess, like the container OOM killer
 * (V8 flags are not an RSS limit; `ulimit -v` breaks V8's address-space
 * reservations). Only the direct child is measured and signalled.
 *
 * When local-cloud itself shuts down (Ctrl-C of `npm start`, SIGTERM) the
 * child gets SIGINT instead: Cloud Run never sends it, so the processor can
 * tell "the stack is stopping; the next start runs this again" from a timeout
 * or a cancel (SIGTERM), and log it as the requested stop it is. The child
 * runs in its own process group, as a container is outside the platform's
 * terminal: a Ctrl-C reaches it only through local-cloud, after local-cloud
 * knows it is stopping, so the attempt is recorded `interrupted` (resumed on
 * restart) rather than failed. A child left over by a crash is killed at the
 * next start ({@link killLeftover}).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { coerceError, type Logger } from '@slideshow/runtime';

/** What to run. */
export interface AttemptSpec {
  command: string[];
  args: string[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  killGraceMs: number;
  memoryLimitBytes?: number;
  /** Aborting stops the child the same way as a timeout (a cancel, or a shutdown). */
  signal: AbortSignal;
  /** Aborted when local-cloud shuts down: the child is stopped with SIGINT, not SIGTERM. */
  shutdown: AbortSignal;
  onSpawn(pid: number): void;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

/** How an attempt ended. */
export interface AttemptOutcome {
  reason: 'exited' | 'timeout' | 'memory' | 'stopped' | 'spawn-error';
  exitCode: number | null;
  signal: string | null;
  message: string;
}

const PASSTHROUGH = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'] as const;

/** Resident set size of a process in bytes, from /proc (undefined when gone). */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch (error) {
    const e = coerceError(error);
    // The process exited between polls.
    if (/ENOENT|ESRCH/.test(e.message)) return undefined;
    throw e;
  }
}

/** Runs one attempt to completion. */
export function runAttempt(
  spec: AttemptSpec,
  hostEnv: Record<string, string | undefined>,
): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    const [cmd, ...cmdArgs] = spec.command;
    if (cmd === undefined) {
      resolve({
        reason: 'spawn-error',
        exitCode: null,
        signal: null,
        message: 'local-cloud runs containers by their command; the container has no command.',
      });
      return;
    }
    const env: Record<string, string> = {};
    for (const key of PASSTHROUGH) {
      const v = hostEnv[key];
      if (v !== undefined) env[key] = v;
    }
    Object.assign(env, spec.env);
    // stdin is a pipe local-cloud holds and never writes: it ends when local-cloud is gone,
    // however it ended, and a task that honours STOP_WHEN_STDIN_CLOSES (the processor) then
    // stops as on local-cloud's own shutdown instead of working on for nobody.
    env.STOP_WHEN_STDIN_CLOSES = '1';
    const child = spawn(cmd === 'node' ? process.execPath : cmd, [...cmdArgs, ...spec.args], {
      cwd: spec.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches local-cloud, which stops it (see above).
      detached: true,
    });
    let reason: AttemptOutcome['reason'] = 'exited';
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (why: AttemptOutcome['reason']) => {
      if (reason !== 'exited') return;
      reason = why;
      child.kill(why === 'stopped' && spec.shutdown.aborted ? 'SIGINT' : 'SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), spec.killGraceMs);
    };
    const timeout = setTimeout(() => terminate('timeout'), spec.timeoutMs);
    const onAbort = () => terminate('stopped');
    spec.signal.addEventListener('abort', onAbort, { once: true });
    if (spec.signal.aborted) onAbort();
    let memoryPoll: NodeJS.Timeout | undefined;
    if (child.pid !== undefined) {
      spec.onSpawn(child.pid);
      const pid = child.pid;
      const limit = spec.memoryLimitBytes;
      if (limit !== undefined) {
        memoryPoll = setInterval(() => {
          const rss = rssBytes(pid);
          if (rss !== undefined && rss > limit && reason === 'exited') {
            reason = 'memory';
            child.kill('SIGKILL');
          }
        }, 100);
      }
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: child[stream] });
      rl.on('line', (line) => spec.onLine(stream, line));
    }
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      clearInterval(memoryPoll);
      spec.signal.removeEventListener('abort', onAbort);
      if (spawnError && child.pid === undefined) {
        resolve({
          reason: 'spawn-error',
          exitCode: null,
          signal: null,
          message: spawnError.message,
        });
        return;
      }
      const messages: Record<AttemptOutcome['reason'], string> = {
        exited:
          exitCode === 0
            ? 'The container exited successfully.'
            : `The container exited with an error (exit code ${exitCode ?? signal}).`,
        timeout: `The task has been cancelled: it ran past its timeout of ${spec.timeoutMs / 1000}s.`,
        memory: `Memory limit of ${spec.memoryLimitBytes} bytes exceeded; the container was killed.`,
        stopped: 'local-cloud stopped while the task ran; it runs again on restart.',
        'spawn-error': spawnError?.message ?? 'spawn failed',
      };
      resolve({ reason, exitCode, signal, message: messages[reason] });
    });
  });
}

/**
 * Logs one line of a task's output. A JSON line keeps its fields as
 * `jsonPayload` and its `severity` (Cloud Logging does the same for
 * containers); other stderr lines are WARNING, stdout lines INFO.
 */
export function logChildLine(log: Logger, stream: 'stdout' | 'stderr', line: string): void {
  const fields: Record<string, unknown> = { stream };
  let severity = stream === 'stderr' ? 'WARNING' : 'INFO';
  let message = line;
  if (line.startsWith('{')) {
    try {
      const payload = JSON.parse(line) as Record<string, unknown>;
      fields.jsonPayload = payload;
      if (typeof payload.severity === 'string') severity = payload.severity.toUpperCase();
      if (typeof payload.message === 'string') message = payload.message;
    } catch (error) {
      fields.parseError = coerceError(error).message;
    }
  }
  if (
    severity === 'ERROR' ||
    severity === 'CRITICAL' ||
    severity === 'ALERT' ||
    severity === 'EMERGENCY'
  ) {
    log.error(message, fields);
  } else if (severity === 'WARNING') log.warn(message, fields);
  else if (severity === 'DEBUG') log.debug(message, fields);
  else log.info(message, fields);
}

/**
 * Kills a task process a crashed local-cloud left running, after checking
 * its environment names the execution (pids are reused).
 */
export function killLeftover(pid: number, execution: string, logger: Logger): void {
  try {
    // Only kill a process that really is our task: pids are reused.
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    if (!environ.includes(`CLOUD_RUN_EXECUTION=${execution.split('/').pop()}`)) return;
    process.kill(pid, 'SIGKILL');
    logger.warn('killed a task process left over from a previous run', { pid, execution });
  } catch (error) {
    logger.debug('no leftover task process', { pid, error: coerceError(error).message });
  }
}
