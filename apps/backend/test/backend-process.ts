/**
 * Runs the real backend as a child process for attacks at the socket level and
 * for SIGTERM: start it, read its RSS from /proc, stream bodies at it with
 * node:http, and stop it. Every wait is bounded.
 *
 * It starts the way the Docker image does: deploy/backend-entrypoint.sh (the
 * image's ENTRYPOINT) from the repository root, without LITESTREAM_BUCKET, so
 * the script execs its default `node apps/backend/src/main.ts`; the pid is
 * then the backend's own. A broken entrypoint or entry path fails these tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ENTRYPOINT = join(REPO_ROOT, 'deploy/backend-entrypoint.sh');

/** A running backend process. */
export interface BackendProcess {
  child: ChildProcess;
  url: string;
  /** Everything written to stderr (the JSON log lines) so far. */
  logs(): string;
  /** Waits (bounded) for the process to end and returns its exit code. */
  exited(timeoutMs?: number): Promise<number | null>;
}

/** How to start the process. */
export interface BackendProcessOptions {
  /** Runs it under `prlimit --fsize` (util-linux): every file it (and its children) writes is limited to this size. */
  prlimitFileSizeBytes?: number;
}

/**
 * Starts the backend through the image's entrypoint with `env` and waits (≤ 30 s)
 * for its "backend listening" line. `DATABASE_PATH` defaults to
 * `${DATA_DIR}/slideshow.db`: the entrypoint's own default is the image's path.
 */
export function startBackendProcess(
  env: Record<string, string>,
  options: BackendProcessOptions = {},
): Promise<BackendProcess> {
  const database = env.DATA_DIR ? { DATABASE_PATH: join(env.DATA_DIR, 'slideshow.db') } : {};
  const entrypoint = ['bash', ENTRYPOINT];
  const [command, ...args] =
    options.prlimitFileSizeBytes === undefined
      ? entrypoint
      : ['prlimit', `--fsize=${options.prlimitFileSizeBytes}`, ...entrypoint];
  const child = spawn(command!, args, {
    cwd: REPO_ROOT,
    env: {
      METADATA_SERVER_DETECTION: 'none',
      PORT: '0',
      // The entrypoint runs `node`: this Node, as the image's is the only one there.
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      ...database,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const exited = (timeoutMs = 20_000) =>
    Promise.race([
      exit,
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`backend did not exit within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs).unref(),
      ),
    ]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`backend did not start in 30 s:\n${stderr}`));
    }, 30_000);
    child.stderr?.on('data', (d) => {
      stderr += String(d);
      const line = stderr.split('\n').find((l) => l.includes('"backend listening"'));
      const match = line ? /"url":"(http:\/\/[^"]+)"/.exec(line) : null;
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, logs: () => stderr, exited });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`backend exited with ${code}:\n${stderr}`));
    });
  });
}

/** The resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** What {@link streamRequest} saw. */
export interface StreamedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Body bytes the client managed to write before the answer (or the connection's end). */
  bytesWritten: number;
  /** True when the whole generated body was written. */
  wroteAll: boolean;
}

/**
 * POSTs a body produced chunk by chunk, honouring backpressure, and stops
 * writing as soon as the server answers or drops the connection. A generator
 * may `await` between chunks (a slow client). Bounded by `timeoutMs`.
 */
export function streamRequest(
  url: string,
  headers: Record<string, string>,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  timeoutMs = 30_000,
): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    let bytesWritten = 0;
    let answered = false;
    let wroteAll = false;
    const req = request(url, { method: 'POST', headers });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms after ${bytesWritten} bytes`));
    }, timeoutMs);
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      const done = () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts).toString('utf8'),
          bytesWritten,
          wroteAll,
        });
        req.destroy();
      };
      res.once('end', done);
      res.once('error', done);
    });
    req.on('error', (error) => {
      if (answered) return;
      clearTimeout(timer);
      reject(new Error(`request failed after ${bytesWritten} bytes: ${error.message}`));
    });
    void (async () => {
      for await (const chunk of chunks) {
        if (answered || req.destroyed) return;
        bytesWritten += chunk.length;
        if (!req.write(chunk)) {
          await new Promise<void>((r) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              r();
            };
            req.once('drain', done);
            req.once('close', done);
          });
        }
      }
      if (answered || req.destroyed) return;
      wroteAll = true;
      req.end();
    })().catch((error: unknown) => {
      req.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

/** Resolves after `ms` (pacing a deliberately slow client, never an assertion). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
