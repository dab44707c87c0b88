/**
 * The local stack's log files (tools/rotating-log.ts): a log turns over to
 * `<name>.log.1` once it holds its size, so a stack left running keeps about
 * two files' worth per service, and no line is lost or reordered across a turn.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRotatingLog } from '@slideshow/tools/rotating-log';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const line = (i: number) =>
  Buffer.from(`{"n":${String(i).padStart(5, ' ')},"pad":"${'x'.repeat(80)}"}\n`);

describe('a rotating log file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rotating-log-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps at most two files of about its size, and the newest lines in order across the turn', async () => {
    const file = join(dir, 'backend.log');
    const errors: unknown[] = [];
    const log = openRotatingLog(file, 2_000, (error) => errors.push(error));
    for (let i = 0; i < 500; i += 1) log.write(line(i));
    await log.end();
    expect(errors).toEqual([]);
    const size = line(0).length;
    expect((await stat(file)).size).toBeLessThan(2_000 + size);
    expect((await stat(`${file}.1`)).size).toBeLessThan(2_000 + size);
    const kept = `${await readFile(`${file}.1`, 'utf8')}${await readFile(file, 'utf8')}`;
    const numbers = kept
      .trim()
      .split('\n')
      .map((text) => (JSON.parse(text) as { n: number }).n);
    // The last lines written, each once, in the order written, ending with the last one.
    expect(numbers.at(-1)).toBe(499);
    expect(numbers).toEqual(numbers.map((_, k) => 499 - (numbers.length - 1) + k));
    expect(numbers.length).toBeGreaterThan(2_000 / size);
  });

  it('turns over a file that is already over its size (a restart appends), at the first write', async () => {
    const file = join(dir, 'local-cloud.log');
    await writeFile(file, 'old\n'.repeat(1_000));
    const log = openRotatingLog(file, 2_000, () => {});
    log.write(line(1));
    await log.end();
    expect(await readFile(file, 'utf8')).toBe(line(1).toString());
    expect(await readFile(`${file}.1`, 'utf8')).toBe('old\n'.repeat(1_000));
  });
});
