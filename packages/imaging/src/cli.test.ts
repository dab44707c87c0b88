import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageResult } from '@slideshow/contracts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apng, photoJpeg } from './test-fixtures.ts';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imaging-cli-'));
  writeFileSync(join(dir, 'photo.jpg'), await photoJpeg(360, 240));
  writeFileSync(join(dir, 'notes.jpg'), 'shopping list: milk, eggs\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('imaging CLI', () => {
  it('logs a warning on stderr when an APNG loses its animation', async () => {
    writeFileSync(join(dir, 'spinner.png'), await apng(['#ff0000', '#00ff00', '#0000ff']));
    const { status, stdout, stderr } = await runCli([
      join(dir, 'spinner.png'),
      join(dir, 'out-apng'),
      '--preset',
      'preview-v1',
    ]);
    expect(status, stderr).toBe(0);
    expect(ImageResult.parse(JSON.parse(stdout)).frames).toBe(1);
    const warnings = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.severity === 'WARNING');
    expect(warnings, stderr).toMatchObject([
      { code: 'APNG_ANIMATION_DROPPED', frames: 3, defaultImageAnimated: true },
    ]);
  });

  it('writes the variants and prints only the ImageResult JSON on stdout', async () => {
    const out = join(dir, 'out');
    const { status, stdout, stderr } = await runCli([
      join(dir, 'photo.jpg'),
      out,
      '--preset',
      'web-v1',
    ]);
    expect(status, stderr).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const result = ImageResult.parse(JSON.parse(stdout));
    expect(result.width).toBe(360);
    expect(readdirSync(out).sort()).toEqual(result.variants.map((v) => v.suffix).sort());
    expect(stderr).toContain('variant written');
  });

  it('refuses a text file named .jpg with exit status 2 and an error JSON', async () => {
    const { status, stdout } = await runCli([join(dir, 'notes.jpg'), join(dir, 'refused')]);
    expect(status).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      error: {
        code: 'UNSUPPORTED_FORMAT',
        message:
          'Expected a JPEG, PNG, WebP, GIF, AVIF, TIFF or HEIC image but received a text file',
      },
    });
  });

  it('refuses a truncated AVIF without naming the directory it was read from', async () => {
    const avif = await sharp(await photoJpeg(400, 300))
      .avif()
      .toBuffer();
    writeFileSync(join(dir, 'cut.avif'), avif.subarray(0, Math.floor(avif.length / 2)));
    const { status, stdout } = await runCli([join(dir, 'cut.avif'), join(dir, 'cut')]);
    expect(status, stdout).toBe(2);
    const { error } = JSON.parse(stdout);
    expect(error.code).toBe('CORRUPT_IMAGE');
    expect(error.message).not.toContain(dir);
  });

  it('answers a usage error with exit status 64 and the same JSON shape', async () => {
    const missing = await runCli([join(dir, 'photo.jpg')]);
    expect(missing.status).toBe(64);
    expect(JSON.parse(missing.stdout).error.code).toBe('VALIDATION_FAILED');
    const badPreset = await runCli([join(dir, 'photo.jpg'), join(dir, 'x'), '--preset', 'nope']);
    expect(badPreset.status).toBe(64);
    expect(JSON.parse(badPreset.stdout).error.message).toContain('Expected one of web-v1');
  });
});
