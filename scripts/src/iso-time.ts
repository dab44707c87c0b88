/**
 * The one check of the ops scripts' time options (requeue-failed --since,
 * regenerate --from/--to, and rollback's --since through requeue-failed
 * --check): ISO 8601 with a date, a time and an explicit offset or Z.
 * Date.parse alone is not a check: it takes "5" (2001-05-01), rolls
 * "2026-02-30" over to March, and reads a time without an offset in the
 * machine's timezone.
 */
import { AppError } from '@slideshow/runtime';

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Days in a month (1-12) of a year, leap years included. */
function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** True when every field of a matched time is in its range (no 2026-02-30, no 24:00). */
function inRange(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m
    .slice(1)
    .map((part) => Number(part ?? 0));
  return (
    month !== undefined &&
    month >= 1 &&
    month <= 12 &&
    day !== undefined &&
    day >= 1 &&
    day <= daysIn(year ?? 0, month) &&
    (hour ?? 24) < 24 &&
    (minute ?? 60) < 60 &&
    (second ?? 60) < 60 &&
    (offsetHours ?? 24) < 24 &&
    (offsetMinutes ?? 60) < 60
  );
}

/**
 * Reads the value of the time option `name` (e.g. "--since") as an instant
 * and returns it in UTC (`2026-11-22T10:00:00.000Z`); throws
 * VALIDATION_FAILED naming the option and the form it takes.
 */
export function parseIsoTime(name: string, text: string): string {
  const m = ISO_TIME.exec(text);
  if (!m || !inRange(m)) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Expected an ISO 8601 time with an offset for ${name}, like 2026-11-22T10:00:00Z or 2026-11-22T11:00:00+01:00, but received "${text}"`,
    );
  }
  return new Date(text).toISOString();
}
