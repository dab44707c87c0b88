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
import { build, type Plugin } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, 'dist');
const banner = {
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};

/**
 * @slideshow/contracts (classic zod) is bundled on its own, as chunks/contracts.mjs,
 * and every import of it in the processor points there. Code splitting would
 * otherwise put all of zod's core into the start-up chunk, because the
 * environment (zod/mini) and the contracts share it: ~20 ms of a 100 ms start.
 * Both copies of zod are independent; the one module instance of the contracts
 * is shared by every chunk that imports it.
 */
const contractsApart: Plugin = {
  name: 'contracts-apart',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^@slideshow\/contracts$/ }, () => ({
      path: './contracts.mjs',
      external: true,
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: here,
  entryPoints: { contracts: '../../packages/contracts/src/index.ts' },
  outdir: resolve(outdir, 'chunks'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  banner,
  minify: false,
  sourcemap: true,
  logLevel: 'warning',
});
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
  plugins: [contractsApart],
  banner,
  minify: false,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});
// Every import of the contracts must come from a file in chunks/, next to contracts.mjs.
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
const total = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(
  `processor bundle: ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB in ${outdir}`,
);
