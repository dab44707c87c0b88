/**
 * Bundles the processor into dist/processor.mjs (plus lazily loaded chunks) so
 * a Cloud Run task starts without resolving hundreds of files. sharp and
 * libheif-js stay external: sharp is a native module with per-platform
 * binaries, libheif-js a 2 MB WebAssembly decoder loaded only for HEIC; both
 * are the package's `dependencies`, installed next to the bundle by deploy.ts.
 * CommonJS dependencies inside the ESM bundle get a real `require` from the banner.
 *
 * The bundle is written to a staging folder and then swapped in, so a process
 * that starts the processor while a test run rebuilds it (turbo runs the e2e
 * and processor suites side by side) never finds dist/ missing or half written.
 */
import { renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, 'dist');
// Same depth as dist/, so the relative source paths in the source maps stay right after the swap.
const outdir = resolve(here, `.dist-staging-${process.pid}`);
const banner = {
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};

/** Builds into `outdir`; returns the size of what was written. */
async function bundle(): Promise<{ files: number; bytes: number }> {
  const result = await build({
    absWorkingDir: here,
    entryPoints: { processor: 'src/entry.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    // Lazily imported adapters (GCS client, google-auth-library, imaging, the classic-zod
    // contracts) become chunks that load only when used. The start-up path (zod/mini) and the
    // classic schemas share one copy of zod's core: the contracts were once bundled apart with
    // a copy of their own, which cost every task ~6 ms of CPU to evaluate twice (2026-12-06).
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Loaded at run time from node_modules; deploy.ts proves they resolve there.
    external: ['sharp', 'libheif-js'],
    banner,
    minify: false,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
  return { files: outputs.length, bytes: outputs.reduce((sum, [, o]) => sum + o.bytes, 0) };
}

/** Replaces dist/ with the staging folder: two renames, never a missing or partial dist/. */
function swapIn(): void {
  const previous = resolve(here, `.dist-previous-${process.pid}`);
  try {
    renameSync(dist, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  renameSync(outdir, dist);
  rmSync(previous, { recursive: true, force: true });
}

try {
  const { files, bytes } = await bundle();
  swapIn();
  console.log(`processor bundle: ${files} files, ${(bytes / 1024).toFixed(0)} KiB in ${dist}`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
