/**
 * local-cloud as a real process (src/main.ts) for tests: started on a temp data
 * dir and an OS-picked loopback port, ready once it logs so; `killMains()`
 * SIGKILLs every one still running (call it after each test).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { hostEnvironment } from '../src/config.ts';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');
const started: ChildProcess[] = [];

/** A started main.ts: its process, URL, token, the log lines read so far, and its exit. */
export interface MainProcess {
  child: ChildProcess;
  url: string;
  oauthToken: string;
  lines: string[];
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * Starts main.ts and resolves once it logs that it is ready (bounded: 30 s);
 * `nodeArgs` go to node before the script (e.g. `--max-old-space-size=…`).
 */
export async function startMain(
  dataDir: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<MainProcess> {
  const child = spawn(process.execPath, [...nodeArgs, MAIN], {
    env: {
      PATH: hostEnvironment().PATH,
      LOCAL_CLOUD_PORT: '0',
      LOCAL_CLOUD_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.push(child);
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready in 30 s: ${lines.join('\n')}`)),
      30_000,
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { message: string; url?: string };
      if (entry.message === 'local-cloud ready' && entry.url) {
        clearTimeout(timer);
        resolveUrl(entry.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`main.ts exited with ${code}: ${lines.join('\n')}`));
    });
  });
  const oauthToken = readFileSync(join(dataDir, 'local-cloud.token'), 'utf8');
  return { child, url, oauthToken, lines, exited };
}

/** SIGKILLs a started main.ts and resolves once it has exited. */
export async function killMain(main: MainProcess): Promise<void> {
  main.child.kill('SIGKILL');
  await main.exited;
}

/** SIGKILLs every main.ts these helpers started that is still running. */
export function killMains(): void {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}
