/**
 * protobuf Duration and Timestamp in their JSON forms
 * (https://protobuf.dev/programming-guides/proto3/#json), read as strictly as
 * Google's front end reads them (400 INVALID_ARGUMENT otherwise):
 *
 * - Duration: seconds with a required `s` suffix and at most nine fractional
 *   digits ("0.100s", "3600s"); "10" (no suffix), a number or an object is
 *   refused. Every duration local-cloud takes is a length of time (a deadline,
 *   a backoff, a timeout), so a negative one ("-5s") is refused too.
 * - Timestamp: RFC 3339 (https://www.rfc-editor.org/rfc/rfc3339#section-5.6)
 *   with a `Z` or a numeric offset, at most nine fractional digits, years
 *   0001–9999, a real calendar date and no leap second (protobuf smears them).
 *   "2026-12-07T21:33:36" — no zone — would otherwise be read in the server's
 *   time zone, and "5" as a year.
 *
 * scripts/src/iso-time.ts checks timestamps the same way for the operator
 * scripts; apps do not import across packages, so this is local-cloud's own.
 */
import { invalidArgument } from './google-error.ts';

const DURATION = /^(\d+)(?:\.(\d{1,9}))?s$/;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds of the fractional digits `fraction` ("1" → 100, "123456" → 123). */
function fractionMs(fraction: string | undefined): number {
  return fraction === undefined ? 0 : Number(fraction.padEnd(9, '0').slice(0, 3));
}

/** Parses a JSON Duration ("10s", "0.5s") into milliseconds (sub-millisecond parts rounded). */
export function parseDuration(value: unknown, field: string): number {
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  if (match?.[1] === undefined) {
    throw invalidArgument(
      `Expected a duration of seconds with an "s" suffix, not negative, like "10s" or "0.5s", for ${field} but received ${JSON.stringify(value)}`,
    );
  }
  const nanos = Number((match[2] ?? '').padEnd(9, '0'));
  return Number(match[1]) * 1000 + Math.round(nanos / 1e6);
}

/** Formats milliseconds as a JSON Duration, the way Google prints them ("0.100s", "3600s"). */
export function formatDuration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(3)}s`;
}

/** The epoch milliseconds of RFC 3339 fields, or undefined when they name no real time. */
function timestampMs(m: RegExpExecArray): number | undefined {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // A day or month out of range rolls over (Feb 30 → Mar 2): not a date.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, fractionMs(m[7]));
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (m[9] === '-' ? -1 : 1);
  return date.getTime() - offsetMs;
}

/** Epoch milliseconds of an RFC 3339 timestamp with a zone, or undefined when `text` is none. */
export function rfc3339Ms(text: string): number | undefined {
  const match = TIMESTAMP.exec(text);
  return match ? timestampMs(match) : undefined;
}

/** Parses an RFC 3339 timestamp with a zone ("2026-12-07T21:33:36Z", "…+01:00") into epoch milliseconds. */
export function parseTimestamp(value: unknown, field: string): number {
  const ms = typeof value === 'string' ? rfc3339Ms(value) : undefined;
  if (ms === undefined) {
    throw invalidArgument(
      `Expected an RFC 3339 timestamp with "Z" or an offset, like "2026-12-07T21:33:36Z", for ${field} but received ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
