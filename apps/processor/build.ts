/**
 * Bundles the processor into dist/processor.mjs (plus lazily loaded chunks) so
 * a Cloud Run task starts without resolving hundreds of files. sharp stays
 * external: it is a native module with per-platform binaries, installed next
 * to the bundle (see Dockerfile). CommonJS dependencies inside the ESM bundle
 * get a real `require` from the banner.
 */
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, 'dist');

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: here,
  entryPoints: { processor: 'src/entry.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  // Lazily imported adapters (GCS client, google-auth-library, imaging) become
  // chunks that load only when used.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  external: ['sharp'],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  minify: false,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
const total = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(
  `processor bundle: ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB in ${outdir}`,
);
