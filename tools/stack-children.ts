/**
 * The local stack's two servers as child processes of the launcher: free
 * ports, starting a server with its log file and stdin lifeline, waiting until
 * it is the one answering on its port, stopping it, and noticing when one ends
 * on its own or its log cannot be written. tools/local-stack.ts composes them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOG_MAX_BYTES, openRotatingLog } from './rotating-log.ts';
import { repoRoot } from './shared-dir.ts';

/** The two servers the stack runs. */
export type Service = 'local-cloud' | 'backend';

/** How a server of the stack ended on its own (see {@link LocalStack.unexpectedExit}). */
export interface UnexpectedExit {
  service: Service;
  /** Its exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its log file, `<dataDir>/logs/<service>.log`. */
  log: string;
}

/** A log file the stack could not write (see {@link LocalStack.logFailure}). */
export interface LogFailure {
  service: Service;
  /** The log file, `<dataDir>/logs/<service>.log`. */
  log: string;
  /** The system error code (`ENOSPC`, `EIO`, `EROFS`, …), when there is one. */
  code: string | undefined;
  message: string;
}

/** Finds a free loopback port (the OS picks it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Thrown when a port the stack was told to listen on is taken by another process. */
export class PortInUseError extends Error {
  readonly service: Service;
  readonly port: number;

  constructor(service: Service, port: number) {
    super(`the ${service} port ${port} on 127.0.0.1 is already in use by another process`);
    this.name = 'PortInUseError';
    this.service = service;
    this.port = port;
  }
}

/**
 * Fails with PortInUseError unless `port` can be bound on 127.0.0.1. Checked
 * before anything starts: the readiness checks below would otherwise get their
 * answers from whatever already listens there (another stack), and
 * provisioning would rewrite that stack's queues, workflows and job.
 */
export async function ensurePortFree(service: Service, port: number): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(service, port) : error);
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree()));
  });
}

/** A server of the stack, started by {@link startChild}. */
export interface Child {
  name: Service;
  process: ChildProcess;
  exited: Promise<number | null>;
  /** Its log file. */
  log: string;
  /** Set once this stack stops it: its exit is then expected. */
  stopRequested: boolean;
  /** The last lines the child printed (for error messages). */
  tail(): string[];
  /**
   * Resolves once the child logs a JSON line whose `url` is `url`: both apps log
   * their URL only after binding the port, so the server that answers there is
   * this child, not another process on the same port.
   */
  announced: Promise<void>;
}

const TAIL_LINES = 40;

/** What {@link startChild} reports to: the caller's echo and the stack's log-failure report. */
export interface ChildOutput {
  echo: ((name: string, line: string) => void) | undefined;
  logFailed(failure: LogFailure): void;
  /** Size at which a log file turns over (default {@link LOG_MAX_BYTES}). */
  logMaxBytes?: number | undefined;
}

export function startChild(
  name: Service,
  entry: string,
  env: Record<string, string>,
  logDir: string,
  url: string,
  output: ChildOutput,
): Child {
  const logFile = join(logDir, `${name}.log`);
  // The child's output goes through this process into the file, which turns over at
  // output.logMaxBytes (rotating-log.ts). A failed write (ENOSPC on a full disk, EIO, EROFS;
  // or opening or turning the file) is reported once, not thrown: an 'error' without a
  // listener would end this process and, through the stdin lifeline, the stack with no word
  // of why. Later chunks are still read (readiness, the tail, the echo).
  let logBroken = false;
  const log = openRotatingLog(logFile, output.logMaxBytes ?? LOG_MAX_BYTES, (error) => {
    if (logBroken) return;
    logBroken = true;
    output.logFailed({ service: name, log: logFile, code: error.code, message: error.message });
  });
  const child = spawn(process.execPath, [entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env, STOP_WHEN_STDIN_CLOSES: '1' },
    // stdin is a lifeline: its other end stays open in this process, so once this process
    // is gone however it ended (SIGKILL, a crash), the child reads its end and stops itself.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.once('exit', () => child.stdin?.destroy());
  const tail: string[] = [];
  let announce: () => void = () => {};
  const announced = new Promise<void>((resolveAnnounced) => {
    announce = resolveAnnounced;
  });
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (line.includes(`"url":"${url}"`)) announce();
    output.echo?.(name, line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      if (!logBroken) log.write(chunk);
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => {
      void log.end();
      resolveExit(code);
    });
  });
  return {
    name,
    process: child,
    exited,
    log: logFile,
    stopRequested: false,
    tail: () => [...tail],
    announced,
  };
}

export async function stopChild(child: Child | undefined, hard = false): Promise<void> {
  if (child) child.stopRequested = true;
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill(hard ? 'SIGKILL' : 'SIGTERM');
  const killed = await Promise.race([
    child.exited.then(() => true),
    sleep(15_000).then(() => false),
  ]);
  if (!killed) {
    child.process.kill('SIGKILL');
    await child.exited;
  }
}

/**
 * Waits until `child` has announced `url` (it bound the port itself) and
 * `readyUrl` answers (any HTTP status below 500), or `timeoutMs` passes. Generous: on a
 * saturated 2-core CI machine a start has been seen to take 70 s. A child
 * that exits first fails the wait; one that lost its port to another process
 * (bound after ensurePortFree looked) fails with PortInUseError.
 */
export async function waitForChild(
  child: Child,
  service: Service,
  port: number,
  url: string,
  readyUrl: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const failure = await Promise.race([
    child.announced.then(() => undefined),
    child.exited.then((code) =>
      child.tail().some((line) => line.includes('EADDRINUSE'))
        ? new PortInUseError(service, port)
        : new Error(
            `${child.name} exited with status ${code} before it was ready; its last lines:\n${child.tail().join('\n')}`,
          ),
    ),
    // Unreferenced: a timer still pending after the race must not keep the process alive.
    sleep(timeoutMs, undefined, { ref: false }).then(
      () => new Error(`${child.name} did not announce ${url} within ${timeoutMs} ms`),
    ),
  ]);
  if (failure) throw failure;
  await waitForHttp(readyUrl, child, Math.max(1_000, deadline - Date.now()));
}

/** Polls `url` until it answers (any HTTP status below 500) or `timeoutMs` passes. */
export async function waitForHttp(
  url: string,
  child: Child | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.process.exitCode !== null) {
      throw new Error(
        `${child.name} exited with status ${child.process.exitCode} before it was ready (see its log)`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status < 500) return;
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Watches the stack's servers once they are ready: the first that exits without this stack
 * having stopped it (a crash, out of memory, a kill) settles {@link LocalStack.unexpectedExit}.
 */
export function createSupervision(): {
  unexpectedExit: Promise<UnexpectedExit>;
  logFailure: Promise<LogFailure>;
  /** Reports a log file that could not be written (the first one counts). */
  logFailed(failure: LogFailure): void;
  watch(child: Child): void;
  /** The whole stack is stopping: no exit is unexpected from now on. */
  stopping(): void;
} {
  let stopping = false;
  let report: (exit: UnexpectedExit) => void = () => {};
  const unexpectedExit = new Promise<UnexpectedExit>((resolveExit) => {
    report = resolveExit;
  });
  let logFailed: (failure: LogFailure) => void = () => {};
  const logFailure = new Promise<LogFailure>((resolveFailure) => {
    logFailed = resolveFailure;
  });
  return {
    unexpectedExit,
    logFailure,
    logFailed: (failure) => logFailed(failure),
    watch(child) {
      void child.exited.then((code) => {
        if (stopping || child.stopRequested) return;
        report({ service: child.name, code, signal: child.process.signalCode, log: child.log });
      });
    },
    stopping() {
      stopping = true;
    },
  };
}
