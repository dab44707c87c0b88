/**
 * Backend instances for the single-writer suite (lease.test.ts), each as
 * production runs it: `deploy/backend-entrypoint.sh` (the Dockerfile's entry
 * point) with its own data folder (its own "instance disk"), the real
 * Litestream binary on PATH (@flydotio/litestream ships the same 0.3.13 the
 * Dockerfile pins; a test checks that) and the database bucket, lease and
 * images in the GCS emulator (the real @google-cloud/storage client and
 * Litestream's Go client both talk to it). SIGTERM goes to the entry point
 * alone (Cloud Run signals the container's process); a kill -9 or a freeze
 * hits the backend and its Litestream together, as the end or the pause of a
 * container does.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32, deflateSync } from 'node:zlib';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { freePort } from '@slideshow/tools/stack-children';
import Database from 'better-sqlite3';

/** The admin token every instance accepts. */
export const TOKEN = 'lease-suite-admin-token-0123456789abcdef';

/** The Litestream executable of @flydotio/litestream for this platform, or undefined. */
export function litestreamBinary(): string | undefined {
  const require = createRequire(import.meta.url);
  const meta = require.resolve('@flydotio/litestream/package.json');
  try {
    const platform = createRequire(meta).resolve(
      `@flydotio/litestream-${process.platform}-${process.arch}/package.json`,
    );
    return join(dirname(platform), 'litestream');
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/** `litestream version` of a binary, e.g. `v0.3.13`. */
export function litestreamVersion(bin: string): string {
  return execFileSync(bin, ['version'], { encoding: 'utf8' }).trim();
}

/** The Litestream version apps/backend/Dockerfile installs (`FROM litestream/litestream:X`). */
export function dockerfileLitestreamVersion(): string {
  const dockerfile = readFileSync(join(repoRoot, 'apps/backend/Dockerfile'), 'utf8');
  const match = /^FROM litestream\/litestream:(\S+)/m.exec(dockerfile);
  if (!match?.[1]) throw new Error('apps/backend/Dockerfile names no litestream/litestream image');
  return `v${match[1]}`;
}

/** A running backend instance. */
export interface Instance {
  name: string;
  url: string;
  dataDir: string;
  databasePath: string;
  child: ChildProcess;
  logs(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Signals the whole process group (backend + its Litestream). */
  signal(signal: NodeJS.Signals): void;
}

/** Settings shared by the instances of one scenario. */
export interface ClusterOptions {
  /** Scratch folder; each instance gets `<root>/<name>`. */
  root: string;
  /** GCS emulator base URL. */
  gcsEndpoint: string;
  /** Database bucket (lease + replica), fresh per scenario. */
  dbBucket: string;
  litestream: string;
}

/** Starts an instance through the image's entry point; `env` adds or overrides settings. */
export async function startInstance(
  cluster: ClusterOptions,
  name: string,
  env: Record<string, string> = {},
): Promise<Instance> {
  const dataDir = join(cluster.root, name);
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const databasePath = join(dataDir, 'slideshow.db');
  const child = spawn('bash', [join(repoRoot, 'deploy/backend-entrypoint.sh')], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: `${dirname(cluster.litestream)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/tmp',
      METADATA_SERVER_DETECTION: 'none',
      MODE: 'local',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_PATH: databasePath,
      DISPATCH: 'dry-run',
      ADMIN_TOKENS: TOKEN,
      STORAGE_URL: 'gs://lease-suite-images',
      GCS_API_ENDPOINT: cluster.gcsEndpoint,
      // Litestream's Go client reads the emulator from here.
      STORAGE_EMULATOR_HOST: cluster.gcsEndpoint,
      LITESTREAM_BUCKET: cluster.dbBucket,
      LITESTREAM_CONFIG: join(repoRoot, 'deploy/litestream.yml'),
      ...env,
    },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    databasePath,
    child,
    logs: () => output,
    exited,
    signal(signal) {
      if (child.pid === undefined) return;
      // SIGTERM goes to the entry point only, as Cloud Run signals a container's
      // process; SIGKILL/SIGSTOP/SIGCONT hit every process of the "container".
      const targets =
        signal === 'SIGTERM' || signal === 'SIGINT' ? [child.pid] : processTree(child.pid);
      for (const pid of targets) {
        try {
          process.kill(pid, signal);
        } catch (error) {
          if ((error as { code?: string }).code !== 'ESRCH') throw error;
        }
      }
    },
  };
}

/** `root` and all its descendants (Linux /proc), parents first. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Field 4 (ppid) follows the command name in parentheses, which may hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const visit = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return out;
}

/** GET /readyz: true on 200. Never throws (a refused connection is "not ready"). */
export async function isReady(instance: Instance): Promise<boolean> {
  try {
    const response = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The reason GET /readyz gives while not ready (undefined when ready or not answering). */
export async function readinessReason(instance: Instance): Promise<string | undefined> {
  try {
    const response = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { error?: { message?: string } };
    return body.error?.message;
  } catch {
    return undefined;
  }
}

/**
 * A `litestream` for a release whose replication is broken, written into `dir`
 * (for LITESTREAM_BIN): `restore` runs the real binary; `replicate` exits 1 at
 * once (`fail`, as when the bucket refuses it) or runs without ever writing a
 * snapshot (`hang`, as when it cannot reach the bucket and keeps retrying).
 */
export function brokenLitestream(dir: string, real: string, mode: 'fail' | 'hang'): string {
  const path = join(dir, `litestream-replicate-${mode}`);
  const replicate =
    mode === 'fail' ? 'echo "replicate: refused (test)" >&2; exit 1' : 'exec sleep 600';
  writeFileSync(
    path,
    `#!/usr/bin/env bash
if [ "$1" = replicate ]; then ${replicate}; fi
exec ${JSON.stringify(real)} "$@"
`,
    { mode: 0o755 },
  );
  return path;
}

/** Polls /readyz every 50 ms until it answers 200; returns when, or throws after `limitMs`. */
export async function waitReady(instance: Instance, limitMs = 90_000): Promise<number> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    if (instance.child.exitCode !== null) {
      throw new Error(
        `${instance.name} exited with ${instance.child.exitCode}:\n${instance.logs()}`,
      );
    }
    if (await isReady(instance)) return performance.now();
    await sleep(50);
  }
  throw new Error(`${instance.name} was not ready within ${limitMs} ms:\n${instance.logs()}`);
}

/** Waits (bounded) for the instance to exit; SIGKILLs its group past the limit. */
export async function stopped(instance: Instance, limitMs = 20_000): Promise<number | null> {
  const timer = setTimeout(() => instance.signal('SIGKILL'), limitMs);
  const code = await instance.exited;
  clearTimeout(timer);
  return code;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid 8×8 RGB PNG whose pixels encode `n`, so every n is a distinct upload (no dedup). */
export function uniquePng(n: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(8, 0);
  ihdr.writeUInt32BE(8, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.alloc((1 + 8 * 3) * 8);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 24; x++) raw[y * 25 + 1 + x] = (x * 11 + y * 29) & 255;
  }
  raw.writeUInt32BE(n >>> 0, 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The outcome of one upload attempt. */
export interface UploadOutcome {
  status: number | 'network-error';
  id?: string;
  code?: string;
  instance: string;
  /** Monotonic time the request was sent. */
  sentAt: number;
  /** Monotonic time the answer arrived. */
  at: number;
}

/** POSTs one upload to `instance`. */
export async function upload(instance: Instance, n: number): Promise<UploadOutcome> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(uniquePng(n))], { type: 'image/png' }), `${n}.png`);
  const sentAt = performance.now();
  try {
    const response = await fetch(`${instance.url}/api/admin/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: form,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const body = (text ? JSON.parse(text) : {}) as {
      images?: { id: string }[];
      error?: { code: string };
    };
    return {
      status: response.status,
      ...(body.images?.[0]?.id ? { id: body.images[0].id } : {}),
      ...(body.error?.code ? { code: body.error.code } : {}),
      instance: instance.name,
      sentAt,
      at: performance.now(),
    };
  } catch {
    return { status: 'network-error', instance: instance.name, sentAt, at: performance.now() };
  }
}

/**
 * A client that keeps uploading distinct images, as a load balancer in front
 * of the instances would route them: each upload goes to the first instance
 * that accepts it, retried (bounded) on 503 and network errors, until `stop()`.
 */
export function startUploads(targets: () => Instance[], concurrency = 2) {
  const acknowledged: UploadOutcome[] = [];
  const refused: UploadOutcome[] = [];
  let next = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      const n = next++;
      for (let attempt = 0; attempt < 400 && running; attempt++) {
        const candidates = targets();
        const instance = candidates[attempt % Math.max(1, candidates.length)];
        if (!instance) break;
        const outcome = await upload(instance, n);
        if (outcome.status === 202 && outcome.id) {
          acknowledged.push(outcome);
          break;
        }
        refused.push(outcome);
        await sleep(50);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    acknowledged,
    refused,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** Image ids in a database file (read-only). */
export function imageIds(databasePath: string): Set<string> {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return new Set(
      db
        .prepare<[], { id: string }>('SELECT id FROM images')
        .all()
        .map((r) => r.id),
    );
  } finally {
    db.close();
  }
}

/** The writer_epochs rows of a database file. */
export function writerEpochs(databasePath: string): { epoch: number; owner: string }[] {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[], { epoch: number; owner: string }>(
        'SELECT epoch, owner FROM writer_epochs ORDER BY epoch',
      )
      .all();
  } finally {
    db.close();
  }
}
