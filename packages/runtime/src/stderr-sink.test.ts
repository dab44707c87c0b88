/**
 * The logger's default sink (`stderrSink`) in a child process whose stderr is a pipe, as a
 * processor task's is: lines arrive whole and in order, also when the descriptor has been
 * made non-blocking and the reader falls behind (EAGAIN → the rest goes through
 * `process.stderr`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const loggerModule = fileURLToPath(new URL('./logger.ts', import.meta.url));

/**
 * Runs `node -e script` (the logger imported as `createLogger`), pausing the read of its
 * stderr until it prints "written" on stdout; resolves with its stderr lines and exit code.
 */
function runChild(script: string): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createLogger } from ${JSON.stringify(loggerModule)};\n${script}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.pause();
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('written')) child.stderr.resume();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, lines: err.split('\n').filter(Boolean) }));
  });
}

describe('stderrSink (the default log sink)', () => {
  it('writes every line to a stderr pipe, whole and in order', async () => {
    const { code, lines } = await runChild(`
      const log = createLogger();
      for (let i = 0; i < 50; i++) log.info('line', { i });
      process.stdout.write('written');
    `);
    expect(code).toBe(0);
    expect(lines.map((l) => JSON.parse(l).i)).toEqual([...Array(50).keys()]);
  });

  it('hands lines to process.stderr, in order, once the pipe is non-blocking and full', async () => {
    // Creating process.stderr on a pipe makes the descriptor non-blocking (libuv); ~1 MB of
    // lines then overflows the pipe while the parent is not reading (EAGAIN).
    const { code, lines } = await runChild(`
      process.stderr;
      const log = createLogger();
      const pad = 'x'.repeat(1000);
      for (let i = 0; i < 1000; i++) log.info('line', { i, pad });
      process.stdout.write('written');
    `);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1000);
    expect(lines.map((l) => JSON.parse(l).i)).toEqual([...Array(1000).keys()]);
  });

  it('drops lines once its reader is gone (EPIPE), and never fails the caller', async () => {
    // A closed terminal (EIO) or a reader that exited (EPIPE): the child logs after the
    // parent has closed its end of the stderr pipe, then must go on to its next step.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createLogger } from ${JSON.stringify(loggerModule)};
        process.stdout.write('ready\\n');
        process.stdin.once('data', () => {
          const log = createLogger();
          for (let i = 0; i < 3; i++) log.warn('shutting down', { i });
          process.stdout.write('alive\\n');
          process.exit(0);
        });`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (chunk.includes('ready')) {
        child.stderr.destroy();
        child.stdin.write('go\n');
      }
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(out).toContain('alive');
    expect(code).toBe(0);
  });
});
