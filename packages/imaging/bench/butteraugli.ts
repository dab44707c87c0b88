/**
 * butteraugli (Google's psychovisual distance; 0 = identical, < ~1 = no
 * visible difference, larger is worse) through `butteraugli_main` from
 * Debian's `libjxl-devtools`. It is a second opinion beside SSIMULACRA 2, so
 * the bench never depends on it: when the tool is missing the bench installs
 * the package if it runs as root with apt-get, and otherwise says how to get
 * it and reports no butteraugli figures.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

const TOOL = 'butteraugli_main';
const PACKAGE = 'libjxl-devtools';

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

function aptInstall(log: (line: string) => void): boolean {
  const run = (args: string[]): boolean => {
    log(`butteraugli: running apt-get ${args.join(' ')}`);
    const result = spawnSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0)
      log(`butteraugli: apt-get ${args[0]} failed: ${result.stderr.trim().slice(-300)}`);
    return result.status === 0;
  };
  return (
    run(['install', '-y', '--no-install-recommends', PACKAGE]) ||
    (run(['update']) && run(['install', '-y', '--no-install-recommends', PACKAGE]))
  );
}

/**
 * The path of `butteraugli_main`, installing Debian's package when this runs
 * as root with apt-get (set BENCH_INSTALL_TOOLS=0 to forbid); undefined, with
 * a message saying how to get it, when it cannot be had.
 */
export function ensureButteraugli(log: (line: string) => void): string | undefined {
  const found = which(TOOL);
  if (found) return found;
  const root = process.getuid?.() === 0;
  if (root && which('apt-get') && process.env.BENCH_INSTALL_TOOLS !== '0' && aptInstall(log)) {
    const installed = which(TOOL);
    if (installed) return installed;
  }
  log(
    `butteraugli: ${TOOL} not found, so the bench reports SSIMULACRA 2 and SSIM only. ` +
      `Install it with: sudo apt-get install ${PACKAGE} (Debian/Ubuntu), then run the bench again.`,
  );
  return undefined;
}

/** butteraugli distance of `distorted` (any image) against `reference` raw pixels; writes PNGs in `dir`. */
export async function butteraugli(
  tool: string,
  dir: string,
  reference: { data: Buffer; width: number; height: number; channels: number },
  distorted: Buffer,
): Promise<number> {
  const refPath = join(dir, 'butteraugli-reference.png');
  const distPath = join(dir, 'butteraugli-distorted.png');
  // The tool reads no alpha the way the metric expects: both are flattened onto the same grey.
  await sharp(reference.data, {
    raw: {
      width: reference.width,
      height: reference.height,
      channels: reference.channels as 3 | 4,
    },
  })
    .flatten({ background: '#808080' })
    .png()
    .toFile(refPath);
  await writeFile(
    distPath,
    await sharp(distorted).flatten({ background: '#808080' }).png().toBuffer(),
  );
  const result = spawnSync(tool, [refPath, distPath], { encoding: 'utf8', timeout: 300_000 });
  const distance = Number.parseFloat(result.stdout.trim().split('\n')[0] ?? '');
  if (result.status !== 0 || !Number.isFinite(distance)) {
    throw new Error(
      `${tool} failed (status ${result.status}): ${result.stderr.trim().slice(-300)}`,
    );
  }
  return distance;
}
