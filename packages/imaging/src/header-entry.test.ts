import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { importGraph } from '@slideshow/tools/import-graph';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRESET } from './presets.ts';

const run = promisify(execFile);
const ENTRY = fileURLToPath(new URL('./header-entry.ts', import.meta.url));

describe('@slideshow/imaging/header', () => {
  it('imports nothing that loads sharp or libheif-js', () => {
    const graph = importGraph(ENTRY);
    expect([...graph.packages.keys()].filter((name) => /sharp|libheif/.test(name))).toEqual([]);
    expect(graph.computed).toEqual([]);
  });

  it('probes a PNG header in a process that never loads sharp or maps libvips', async () => {
    // A resolve hook in a fresh process records every module that gets loaded.
    const script = `
      import { registerHooks } from 'node:module';
      import { readFileSync } from 'node:fs';
      const seen = [];
      registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } });
      const { probeHeader, DEFAULT_PRESET } = await import('@slideshow/imaging/header');
      const png = Buffer.alloc(33);
      png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
      png.writeUInt32BE(640, 16);
      png.writeUInt32BE(480, 20);
      png[24] = 8; png[25] = 6;
      const result = await probeHeader(png, undefined);
      console.log(JSON.stringify({
        result: { format: result.format, width: result.width, height: result.height, hasAlpha: result.hasAlpha },
        preset: DEFAULT_PRESET,
        sharp: seen.filter((u) => /\\/(sharp|libheif-js)\\//.test(u)),
        libvips: /libvips/.test(readFileSync('/proc/self/maps', 'utf8')),
      }));
    `;
    // Run inside the package, so the specifier resolves through its own `exports`.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({
      result: { format: 'png', width: 640, height: 480, hasAlpha: true },
      // The preset file's default, as the full entry sees it.
      preset: DEFAULT_PRESET,
      sharp: [],
      libvips: false,
    });
  });
});
