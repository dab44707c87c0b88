import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError, coerceError, createLogger, mapLimit, retryWithBackoff } from './index.ts';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { stream, lines };
}

describe('logger', () => {
  it('writes one JSON line with Cloud Logging severity and child fields', () => {
    const { stream, lines } = capture();
    createLogger({ stream }).child({ imageId: 'img1' }).warn('slow', { ms: 5 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      severity: 'WARNING',
      message: 'slow',
      imageId: 'img1',
      ms: 5,
    });
  });

  it('never writes secret-looking fields', () => {
    const { stream, lines } = capture();
    createLogger({ stream }).info('login', {
      password: 'hunter2',
      nested: { authorization: 'Bearer x' },
    });
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(JSON.stringify(lines)).not.toContain('Bearer x');
  });

  it('drops lines below its level', () => {
    const { stream, lines } = capture();
    createLogger({ stream, level: 'WARNING' }).info('quiet');
    expect(lines).toHaveLength(0);
  });
});

describe('coerceError', () => {
  it('keeps an AppError as it is and wraps anything else', () => {
    const app = new AppError('NOT_FOUND', 'gone');
    expect(coerceError(app)).toBe(app);
    const wrapped = coerceError(new Error('boom'));
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.retryable).toBe(true);
    expect(coerceError('str').message).toBe('non-error thrown: str');
  });
});

describe('retryWithBackoff', () => {
  it('retries retryable errors until success', async () => {
    let calls = 0;
    const value = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 3) throw new AppError('BACKEND_UNAVAILABLE', 'down', { retryable: true });
        return 'ok';
      },
      { deadlineMs: 5_000, initialDelayMs: 1, maxDelayMs: 2 },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry a permanent error', async () => {
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new AppError('CORRUPT_IMAGE', 'bad');
        },
        { deadlineMs: 5_000, initialDelayMs: 1 },
      ),
    ).rejects.toThrow('bad');
    expect(calls).toBe(1);
  });

  it('measures the deadline on its monotonic clock, not the wall clock (before: Date.now, which a step back stretches)', async () => {
    let clock = 0;
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          // A bound for the old loop, which reads Date.now and would go on retrying.
          if (calls > 10) throw new AppError('INTERNAL', 'past the deadline');
          clock += 600;
          throw new AppError('TIMEOUT', 'still down', { retryable: true });
        },
        { deadlineMs: 1_000, initialDelayMs: 1, maxDelayMs: 1, monotonicNow: () => clock },
      ),
    ).rejects.toThrow('still down');
    expect(calls).toBe(2);
  });

  it('gives up at the deadline with the last error', async () => {
    await expect(
      retryWithBackoff(
        async () => {
          throw new AppError('TIMEOUT', 'still down', { retryable: true });
        },
        { deadlineMs: 30, initialDelayMs: 5, maxDelayMs: 10 },
      ),
    ).rejects.toThrow('still down');
  });
});

describe('mapLimit', () => {
  it('keeps the items’ order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n, index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < n; i++) await Promise.resolve();
      inFlight--;
      return `${index}:${n * 10}`;
    });
    expect(results).toEqual(['0:50', '1:10', '2:40', '3:20', '4:30', '5:0']);
    expect(most).toBe(2);
  });

  it('rejects with the first failure as an AppError and starts no further call', async () => {
    const started: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4], 1, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('broke');
      return n;
    });
    await expect(run).rejects.toMatchObject({ code: 'INTERNAL', message: 'broke' });
    expect(started).toEqual([0, 1]);
  });
});
