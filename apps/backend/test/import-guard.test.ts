/**
 * The backend never loads sharp or libvips: it validates uploads from their
 * first bytes through `@slideshow/imaging/header`, and only the processor
 * decodes. Loading the imaging barrel cost the backend's start ~400 ms and
 * libvips' memory (docs/architecture.md, "Package seams"). Proved twice: the
 * static import graph from the entry, and the real process serving an upload.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGraph } from '@slideshow/tools/import-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** Native image code the backend must never reach. */
const FORBIDDEN = ['sharp', 'libheif-js'];

describe('the backend import graph', () => {
  it('reaches no sharp, libheif-js or fault injection from src/main.ts, only the header entry of imaging', () => {
    const graph = importGraph(MAIN);
    expect(graph.files).toContain('packages/imaging/src/header-entry.ts');
    expect(graph.files).not.toContain('packages/imaging/src/index.ts');
    const reached = FORBIDDEN.filter((name) => graph.packages.has(name));
    expect(reached, `first imported by ${reached.map((n) => graph.packages.get(n))}`).toEqual([]);
    // Fault injection lives in the test-only entry src/main-with-faults.ts.
    expect(graph.files).not.toContain('packages/storage/src/faulty.ts');
    // The only computed imports are the Cloud Storage adapters (walked below).
    expect(graph.computed, 'computed imports outside adapters.ts').toEqual(
      graph.computed.filter((at) => at.startsWith('apps/backend/src/adapters.ts:')),
    );
  });

  it.each(['packages/storage/src/gcs.ts', 'packages/lease/src/gcs.ts'])(
    'reaches no sharp from the production adapter %s either',
    (entry) => {
      const graph = importGraph(entry);
      expect(FORBIDDEN.filter((name) => graph.packages.has(name))).toEqual([]);
    },
  );

  it('finds sharp behind the imaging barrel (the walk can fail)', () => {
    expect(importGraph('packages/imaging/src/index.ts').packages.has('sharp')).toBe(true);
  });
});

describe('the backend process', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'backend-import-guard-'));
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts an upload without loading sharp or mapping libvips', async () => {
    const modulesFile = join(dir, 'modules.json');
    // A resolve hook in the child records every module it loads (import and require) and
    // writes the list when the process exits.
    const preload = `
      import { registerHooks } from 'node:module';
      import { writeFileSync } from 'node:fs';
      const seen = new Set();
      registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.add(r.url); return r; } });
      process.on('exit', () => writeFileSync(${JSON.stringify(modulesFile)}, JSON.stringify([...seen])));
    `;
    const token = 't'.repeat(40);
    const running = spawn(
      process.execPath,
      [`--import=data:text/javascript,${encodeURIComponent(preload)}`, MAIN],
      {
        env: {
          PATH: process.env.PATH ?? '',
          METADATA_SERVER_DETECTION: 'none',
          PORT: '0',
          DATA_DIR: dir,
          DISPATCH: 'dry-run',
          ADMIN_TOKENS: token,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = running;
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start in 30 s:\n${stderr}`)), 30_000);
      running.stderr?.on('data', (d) => {
        stderr += String(d);
        const match = /"backend listening".*?"url":"(http:\/\/[^"]+)"/.exec(stderr);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      running.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`backend exited with ${code}:\n${stderr}`));
      });
    });
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(makePng(8, 8, 3))]), 'a.png');
    const upload = await fetch(`${url}/api/admin/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(upload.status, await upload.clone().text()).toBe(202);
    const maps = readFileSync(`/proc/${running.pid}/maps`, 'utf8');
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;

    expect(maps).not.toMatch(/libvips/);
    const modules = JSON.parse(readFileSync(modulesFile, 'utf8')) as string[];
    expect(modules.some((url) => url.endsWith('/header-entry.ts'))).toBe(true);
    expect(
      modules.filter((url) => /\/node_modules\/(?:\.pnpm\/)?(?:sharp|libheif-js)/.test(url)),
    ).toEqual([]);
  });
});
