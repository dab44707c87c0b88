/**
 * Proves the deployable artifact without a Docker engine: the Dockerfile's own
 * `pnpm deploy --prod` (offline, from the local pnpm store) into a temp folder,
 * then the processor started from that folder alone against a real backend.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg, processorDir, processorEnv, spawnProcessor } from './helpers.ts';

let backend: TestBackend;
let out: string;

beforeAll(async () => {
  out = join(await mkdtemp(join(tmpdir(), 'processor-deploy-')), 'app');
  // The same command as the Dockerfile's build stage (plus --offline: tests never download).
  const deploy = spawnSync(
    'pnpm',
    ['--filter', '@slideshow/processor', 'deploy', '--prod', '--legacy', '--offline', out],
    { cwd: processorDir, encoding: 'utf8', timeout: 120_000 },
  );
  if (deploy.status !== 0) {
    throw new Error(`pnpm deploy failed (${deploy.status}):\n${deploy.stdout}\n${deploy.stderr}`);
  }
  backend = await startTestBackend();
});

afterAll(async () => {
  await backend?.stop();
  if (out) await rm(join(out, '..'), { recursive: true, force: true });
});

describe('the pnpm deploy output (what the Docker image contains)', () => {
  it('holds the bundle and sharp as its only production dependency', async () => {
    expect((await readdir(out)).sort()).toEqual([
      'README.md',
      'dist',
      'node_modules',
      'package.json',
    ]);
    const pkg = JSON.parse(await readFile(join(out, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).toEqual(['sharp']);
    const topLevel = (await readdir(join(out, 'node_modules'))).filter((n) => !n.startsWith('.'));
    expect(topLevel).toEqual(['sharp']);
    // Installed inside the folder, not linked back into the repository.
    expect(await realpath(join(out, 'node_modules/sharp'))).toContain(out);
  });

  it('runs standalone from its folder and processes an image', async () => {
    const { id } = await backend.upload(await makeJpeg(500, 300, 61), 'deploy.jpg');
    const result = await spawnProcessor(processorEnv(backend, id), {
      script: join(out, 'dist/processor.mjs'),
      cwd: out,
    }).done;
    expect(result.code, result.stderr).toBe(0);
    expect((await backend.image(id)).status).toBe('processed');
  });
});
