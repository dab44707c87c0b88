/**
 * CLI: `node packages/imaging/src/cli.ts <input-file> <out-dir> [--preset web-v3] [--timeout-ms 120000]`
 *
 * Writes every variant to <out-dir>/<suffix> and prints exactly one JSON
 * object on stdout: the ImageResult, or {"error":{"code","message"}}.
 * Exit status: 0 done, 2 image refused, 64 usage error, 1 anything else
 * (including the time limit). Logs go to stderr only.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isImageErrorCode } from '@slideshow/contracts';
import { AppError, coerceError, createLogger } from '@slideshow/runtime';
import { DEFAULT_PRESET, getPreset } from './presets.ts';
import { processImage } from './process.ts';

const USAGE = 'usage: imaging <input-file> <out-dir> [--preset web-v3] [--timeout-ms 120000]';

/** Exit statuses (sysexits.h for usage). */
const EXIT = { ok: 0, failed: 1, refused: 2, usage: 64 } as const;

function emit(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function fail(error: AppError, status: number): never {
  emit({ error: { code: error.code, message: error.message } });
  process.exit(status);
}

function usage(message: string): never {
  fail(new AppError('VALIDATION_FAILED', `${message}; ${USAGE}`), EXIT.usage);
}

async function main(): Promise<void> {
  // Third-party code (libheif-js) prints diagnostics with console.log; keep
  // stdout for the one JSON result.
  console.log = console.error;
  const logger = createLogger({ fields: { component: 'imaging-cli' } });

  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    usage(coerceError(error).message);
  }
  const [input, outDir] = parsed.positionals;
  if (!input || !outDir || parsed.positionals.length > 2)
    usage('Expected <input-file> and <out-dir>');
  const preset = parsed.values.preset ?? DEFAULT_PRESET;
  try {
    getPreset(preset);
  } catch (error) {
    usage(coerceError(error).message);
  }
  const timeoutMs = Number(parsed.values['timeout-ms'] ?? 120_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    usage(
      `Expected a positive integer for --timeout-ms but received ${parsed.values['timeout-ms']}`,
    );
  }
  try {
    if (!(await stat(input)).isFile())
      usage(`Expected a file for <input-file> but received ${input}`);
  } catch (error) {
    const cause = coerceError(error);
    if (cause.code !== 'INTERNAL') throw cause;
    usage(`Expected a readable file for <input-file> but received ${input} (${cause.message})`);
  }

  // A hard limit: the abort signal stops between steps; the timer ends the
  // process even if a native encode never returns.
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
    fail(
      new AppError(
        'TIMEOUT',
        `Expected processing to finish within ${timeoutMs} ms but it did not`,
      ),
      EXIT.failed,
    );
  }, timeoutMs);
  timer.unref();

  await mkdir(outDir, { recursive: true });
  const result = await processImage(input, {
    preset,
    signal: controller.signal,
    onWarning: (warning) =>
      logger.warn(warning.message, { code: warning.code, ...warning.context }),
    write: async (variant) => {
      await writeFile(join(outDir, variant.suffix), variant.data);
      logger.info('variant written', { suffix: variant.suffix, bytes: variant.data.length });
    },
  }).catch((error: unknown) => {
    throw withoutPath(coerceError(error), input);
  });
  clearTimeout(timer);
  emit(result);
}

/**
 * libvips names the file it read in its messages ("/home/…/x.avif: bad seek");
 * the CLI's answer names only the file, never where it lives.
 */
function withoutPath(error: AppError, input: string): AppError {
  const name = basename(input);
  const message = error.message.replaceAll(resolve(input), name).replaceAll(input, name);
  if (message === error.message) return error;
  const { retryable, context } = error;
  return new AppError(error.code, message, { retryable, context, cause: error });
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    strict: true,
    options: { preset: { type: 'string' }, 'timeout-ms': { type: 'string' } },
  });
}

try {
  await main();
} catch (error) {
  const appError = coerceError(error);
  fail(appError, isImageErrorCode(appError.code) ? EXIT.refused : EXIT.failed);
}
