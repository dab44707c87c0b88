/**
 * protobuf Duration and Timestamp in their JSON forms
 * (https://protobuf.dev/programming-guides/proto3/#json): durations are
 * seconds with an `s` suffix ("0.100s", "3600s"), timestamps RFC 3339 in UTC.
 */
import { invalidArgument } from './google-error.ts';

/** Parses a JSON Duration ("10s", "0.5s") or a number of seconds into milliseconds. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === 'string') {
    const match = /^(-?\d+(?:\.\d+)?)s?$/.exec(value.trim());
    if (match?.[1] !== undefined) return Math.round(Number(match[1]) * 1000);
  }
  if (value !== null && typeof value === 'object' && 'seconds' in value) {
    const v = value as { seconds?: unknown; nanos?: unknown };
    return Number(v.seconds ?? 0) * 1000 + Math.round(Number(v.nanos ?? 0) / 1e6);
  }
  throw invalidArgument(
    `Expected a duration like "10s" for ${field} but received ${JSON.stringify(value)}`,
  );
}

/** Formats milliseconds as a JSON Duration, the way Google prints them ("0.100s", "3600s"). */
export function formatDuration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(3)}s`;
}

/** Parses an RFC 3339 timestamp into epoch milliseconds. */
export function parseTimestamp(value: unknown, field: string): number {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  if (value !== null && typeof value === 'object' && 'seconds' in value) {
    const v = value as { seconds?: unknown; nanos?: unknown };
    return Number(v.seconds ?? 0) * 1000 + Math.round(Number(v.nanos ?? 0) / 1e6);
  }
  throw invalidArgument(
    `Expected an RFC 3339 timestamp for ${field} but received ${JSON.stringify(value)}`,
  );
}
