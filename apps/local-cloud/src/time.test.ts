/**
 * protobuf JSON Duration and Timestamp read as Google's front end reads them
 * (src/time.ts): before, "10" and "-5s" were durations, "5" a timestamp (of
 * 2001) and "2026-12-07T21:33:36" a time in the server's zone.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from './google-error.ts';
import { parseDuration, parseTimestamp } from './time.ts';

/** What a refusal says (400 INVALID_ARGUMENT naming the field), or what was read. */
function refusal(read: () => number): { status: unknown; message?: string } {
  try {
    return { status: read() };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.status, message: error.message };
  }
}

describe('parseDuration', () => {
  it('reads seconds with the "s" suffix and up to nine fractional digits', () => {
    expect(parseDuration('10s', 'f')).toBe(10_000);
    expect(parseDuration('0.100s', 'f')).toBe(100);
    expect(parseDuration('0.5s', 'f')).toBe(500);
    expect(parseDuration('3600s', 'f')).toBe(3_600_000);
    expect(parseDuration('1.000000001s', 'f')).toBe(1_000);
    expect(parseDuration('0s', 'f')).toBe(0);
  });

  it('refuses a duration without "s", negative, with too many digits, or not a string', () => {
    for (const value of [
      '10',
      '-5s',
      ' 10s',
      '10 s',
      '1.0000000001s',
      '.5s',
      '5ms',
      10,
      null,
      { seconds: 1 },
    ]) {
      const refused = refusal(() => parseDuration(value, 'task.dispatchDeadline'));
      expect(refused.status, JSON.stringify(value)).toBe('INVALID_ARGUMENT');
      expect(refused.message).toContain('task.dispatchDeadline');
    }
  });
});

describe('parseTimestamp', () => {
  it('reads RFC 3339 with Z or an offset, to the millisecond', () => {
    expect(parseTimestamp('2026-12-07T21:33:36Z', 'f')).toBe(Date.UTC(2026, 11, 7, 21, 33, 36));
    expect(parseTimestamp('2026-12-07T21:33:36.123456789Z', 'f')).toBe(
      Date.UTC(2026, 11, 7, 21, 33, 36, 123),
    );
    expect(parseTimestamp('2026-12-07T22:33:36+01:00', 'f')).toBe(
      Date.UTC(2026, 11, 7, 21, 33, 36),
    );
    expect(parseTimestamp('2026-12-07T08:48:36-12:45', 'f')).toBe(
      Date.UTC(2026, 11, 7, 21, 33, 36),
    );
    expect(parseTimestamp('2028-02-29T00:00:00z', 'f')).toBe(Date.UTC(2028, 1, 29));
  });

  it('refuses a time without a zone, a bare number, a date that does not exist, or a leap second', () => {
    for (const value of [
      '2026-12-07T21:33:36',
      '5',
      '2026-12-07',
      '2026-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '2026-12-07T24:00:00Z',
      '2026-12-31T23:59:60Z',
      '2026-12-07T21:33:36+24:00',
      '2026-12-07 21:33:36Z',
      '0000-01-01T00:00:00Z',
      '2026-12-07T21:33:36.1234567890Z',
      1_796_678_653,
      { seconds: 1 },
    ]) {
      const refused = refusal(() => parseTimestamp(value, 'task.scheduleTime'));
      expect(refused.status, JSON.stringify(value)).toBe('INVALID_ARGUMENT');
      expect(refused.message).toContain('task.scheduleTime');
    }
  });
});
