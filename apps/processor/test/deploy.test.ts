/**
 * Proves the deployable artifact without a Docker engine: the Dockerfile's own
 * deploy command, `node apps/processor/deploy.ts <dir>` (pnpm deploy offline from
 * the store the install filled, then the bundle's import check), into a temp
 * folder; then the processor started from that folder alone against a real
 * backend, on a JPEG and on a real HEIC. A copy of the folder without
 * libheif-js stands for a bundling mistake: the check names it, and a HEIC
 * there fails as a retryable DECODER_UNAVAILABLE, never as a damaged image.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import type { Variant } from '@slideshow/contracts';
import { DEFAULT_PRESET } from '@slideshow/imaging';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleImportReport } from '../bundle-imports.ts';
import { makeHeic, makeJpeg, processorDir, processorEnv, spawnProcessor } from './helpers.ts';

let backend: TestBackend;
let work: string;
let out: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'processor-deploy-'));
  out = join(work, 'app');
  // The same command as the Dockerfile's build stage (`node apps/processor/deploy.ts /out`).
  const deploy = spawnSync(process.execPath, [resolve(processorDir, 'deploy.ts'), out], {
    cwd: processorDir,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (deploy.status !== 0) {
    throw new Error(`deploy.ts failed (${deploy.status}):\n${deploy.stdout}\n${deploy.stderr}`);
  }
  backend = await startTestBackend();
}, 200_000);

afterAll(async () => {
  await backend?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * checkBundleImports in a child process: parsing the bundle takes seconds of
 * CPU, which in this process would stall the test backend's sockets and timers.
 */
async function checkBundleImports(dir: string): Promise<BundleImportReport> {
  const module = pathToFileURL(resolve(processorDir, 'bundle-imports.ts')).href;
  const script = `const { checkBundleImports } = await import(${JSON.stringify(module)});
process.stdout.write(JSON.stringify(checkBundleImports(process.argv[1])));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script, dir],
    { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
  );
  return JSON.parse(stdout) as BundleImportReport;
}

const failedTask = (id: string) =>
  backend.db.prepare('SELECT * FROM failed_tasks WHERE image_id = ?').get(id) as
    | { error_code: string; error_message: string; source: string }
    | undefined;

describe('the deploy folder (what the Docker image contains)', () => {
  it('holds the bundle and its production dependencies, sharp and libheif-js, nothing else', async () => {
    expect((await readdir(out)).sort()).toEqual([
      'README.md',
      'dist',
      'node_modules',
      'package.json',
    ]);
    const pkg = JSON.parse(await readFile(join(out, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(Object.keys(pkg).sort()).toEqual([
      'dependencies',
      'description',
      'name',
      'private',
      'type',
    ]);
    expect(Object.keys(pkg.dependencies as object).sort()).toEqual(['libheif-js', 'sharp']);
    const topLevel = (await readdir(join(out, 'node_modules'))).filter((n) => !n.startsWith('.'));
    expect(topLevel.sort()).toEqual(['libheif-js', 'sharp']);
    // Installed inside the folder, not linked back into the repository.
    for (const name of topLevel) {
      expect(await realpath(join(out, 'node_modules', name))).toContain(await realpath(out));
    }
  });

  // The tests here, the benches and the local stack spawn `node dist/processor.mjs`; a flag
  // in the image's CMD alone (--enable-source-maps cost every task ~15 ms of CPU) would make
  // Cloud Run run something none of them measured.
  it("is started by the image's CMD exactly as these tests start it: node, the bundle, no flags", async () => {
    const dockerfile = await readFile(resolve(processorDir, 'Dockerfile'), 'utf8');
    const cmd = dockerfile.split('\n').filter((line) => line.startsWith('CMD '));
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0]?.slice('CMD '.length) ?? '')).toEqual(['node', 'dist/processor.mjs']);
  });

  it('resolves every module the bundle loads inside itself, the HEIC decoder included', async () => {
    const report = await checkBundleImports(out);
    expect(report.missing).toEqual([]);
    expect(report.computed).toEqual([]);
    const packages = new Set(report.resolved.map((r) => r.specifier));
    expect(packages).toContain('sharp');
    // Loaded through createRequire, which esbuild does not see: only the check finds it.
    expect(packages).toContain('libheif-js/wasm-bundle');
  });

  it('runs standalone from its folder and processes a JPEG', async () => {
    const { id } = await backend.upload(await makeJpeg(500, 300, 61), 'deploy.jpg');
    const result = await spawnProcessor(processorEnv(backend, id), {
      script: join(out, 'dist/processor.mjs'),
      cwd: out,
    }).done;
    expect(result.code, result.stderr).toBe(0);
    expect((await backend.image(id)).status).toBe('processed');
  });

  it('decodes a HEIC into variants that show the same picture', async () => {
    const heic = makeHeic(320, 240, 3);
    const { id } = await backend.upload(heic, 'deploy.heic');
    const result = await spawnProcessor(processorEnv(backend, id), {
      script: join(out, 'dist/processor.mjs'),
      cwd: out,
    }).done;
    expect(result.code, result.stderr).toBe(0);
    const image = await backend.image(id);
    expect(image.status).toBe('processed');
    const row = backend.db.prepare('SELECT variants FROM images WHERE id = ?').get(id) as {
      variants: string;
    };
    const variants = JSON.parse(row.variants) as Variant[];
    const jpeg = variants.find((v) => v.format === 'jpeg' && v.width === 320);
    expect(jpeg, row.variants).toBeDefined();
    // The corners of the source gradient: red grows to the right, green downwards.
    const file = join(backend.storeRoot, `variants/${id}/${DEFAULT_PRESET}/g0/${jpeg?.suffix}`);
    const { data, info } = await sharp(file).resize(4, 4, { fit: 'fill' }).raw().toBuffer({
      resolveWithObject: true,
    });
    const at = (x: number, y: number) => [
      ...data.subarray((y * 4 + x) * info.channels).slice(0, 3),
    ];
    const [r0, g0] = at(0, 0);
    const [r3, g3] = at(3, 3);
    expect(r3! - r0!).toBeGreaterThan(120);
    expect(g3! - g0!).toBeGreaterThan(120);
  });
});

describe('a deploy folder without libheif-js (a bundling mistake)', () => {
  let broken: string;

  beforeAll(async () => {
    broken = join(work, 'broken');
    await cp(out, broken, { recursive: true, verbatimSymlinks: true });
    await rm(join(broken, 'node_modules/libheif-js'), { recursive: true, force: true });
  });

  it('fails the import check, naming the module', async () => {
    const report = await checkBundleImports(broken);
    expect(report.missing.map((m) => m.specifier)).toEqual(['libheif-js/wasm-bundle']);
  });

  it('fails a HEIC with the retryable DECODER_UNAVAILABLE, reported on the final attempt only', async () => {
    const { id } = await backend.upload(makeHeic(160, 120, 5), 'broken.heic');
    const run = (attempt: string) =>
      spawnProcessor(processorEnv(backend, id, { CLOUD_RUN_TASK_ATTEMPT: attempt }), {
        script: join(broken, 'dist/processor.mjs'),
        cwd: broken,
      }).done;
    const first = await run('0');
    // Exit 1: Cloud Run retries the task; nothing recorded yet.
    expect(first.code, first.stderr).toBe(1);
    expect(first.logs.find((l) => l.message === 'processor finished')).toMatchObject({
      outcome: 'retryable',
    });
    expect(failedTask(id)).toBeUndefined();
    const last = await run('3');
    expect(last.code, last.stderr).toBe(1);
    expect(failedTask(id)).toMatchObject({
      error_code: 'DECODER_UNAVAILABLE',
      source: 'processor',
    });
    expect(failedTask(id)?.error_message).toMatch(/HEIC decoder \(libheif-js\)/);
  });
});
