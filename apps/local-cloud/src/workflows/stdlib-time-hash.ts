/**
 * The `time` and `hash` modules of the standard library, and the `if()`
 * expression helper: table entries merged into stdlib.ts.
 * - time.format: https://cloud.google.com/workflows/docs/reference/stdlib/time/format
 *   ("A timezone name from the tz database … If not specified or if an empty
 *   string, the default is UTC"; "A timestamp string in ISO 8601 format, up to
 *   a microsecond precision. For example: 2024-01-10T16:15:54.615087Z").
 * - hash.compute_checksum / hash.compute_hmac:
 *   https://cloud.google.com/workflows/docs/reference/stdlib/hash/compute_checksum
 *   (bytes in, bytes out; MD5, SHA1, SHA224, SHA256, SHA384, SHA512; TypeError
 *   for non-bytes, ValueError for another algorithm).
 * - if(condition, if_true, if_false): the conditional expression helper
 *   (https://cloud.google.com/workflows/docs/reference/stdlib/expression-helpers#conditional_functions);
 *   its arguments are evaluated before the call, both branches included, as
 *   in Google's engine.
 */
import { createHash, createHmac } from 'node:crypto';
import { rfc3339Ms } from '../time.ts';
import { taggedError } from './errors.ts';
import { arity, expect, isBytes, isNum, isString, type PureFunction } from './stdlib-args.ts';
import { describe, type WfValue } from './values.ts';

const HASH_ALGORITHMS: Record<string, string> = {
  MD5: 'md5',
  SHA1: 'sha1',
  SHA224: 'sha224',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};

function algorithm(name: string, value: WfValue): string {
  const alg = expect(name, value, isString, 'a string');
  const node = Object.hasOwn(HASH_ALGORITHMS, alg) ? HASH_ALGORITHMS[alg] : undefined;
  if (node === undefined) {
    throw taggedError(
      'ValueError',
      `${name}: unsupported algorithm ${describe(alg)} (use ${Object.keys(HASH_ALGORITHMS).join(', ')})`,
    );
  }
  return node;
}

/** The UTC offset of a tz-database zone at an instant, in minutes; ValueError for an unknown zone. */
function zoneOffsetMinutes(zone: string, ms: number): number {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      timeZoneName: 'longOffset',
    }).formatToParts(new Date(ms));
  } catch (error) {
    if (error instanceof RangeError) {
      throw taggedError('ValueError', `time.format: unknown time zone ${describe(zone)}`);
    }
    throw error;
  }
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (m === null) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** seconds since the epoch → "2024-01-10T17:15:54.615087+01:00" ("Z" when the offset is zero). */
export function formatTime(seconds: number, zone: string): string {
  if (!Number.isFinite(seconds)) throw taggedError('ValueError', 'time.format: not a finite time');
  const micros = Math.round(seconds * 1e6);
  const ms = Math.floor(micros / 1000);
  const extraMicros = micros - ms * 1000;
  const offset = zone === '' ? 0 : zoneOffsetMinutes(zone, ms);
  const local = new Date(ms + offset * 60_000);
  if (Number.isNaN(local.getTime()))
    throw taggedError('ValueError', 'time.format: time out of range');
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const fraction = `${pad(local.getUTCMilliseconds(), 3)}${pad(extraMicros, 3)}`;
  const abs = Math.abs(offset);
  const suffix =
    offset === 0 ? 'Z' : `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${date}T${time}.${fraction}${suffix}`;
}

/** Table entries for stdlib.ts. */
export const TIME_HASH_FUNCTIONS: Record<string, PureFunction> = {
  if: (args) => {
    arity('if', args, 3);
    const condition = args[0] ?? null;
    if (typeof condition !== 'boolean') {
      throw taggedError(
        'TypeError',
        `Expected a boolean for if but received ${describe(condition)}`,
      );
    }
    return condition ? (args[1] ?? null) : (args[2] ?? null);
  },
  'hash.compute_checksum': (args) => {
    arity('hash.compute_checksum', args, 2);
    const data = expect('hash.compute_checksum', args[0] ?? null, isBytes, 'bytes');
    const alg = algorithm('hash.compute_checksum', args[1] ?? null);
    return new Uint8Array(createHash(alg).update(data).digest());
  },
  'hash.compute_hmac': (args) => {
    arity('hash.compute_hmac', args, 3);
    const key = expect('hash.compute_hmac', args[0] ?? null, isBytes, 'bytes');
    const data = expect('hash.compute_hmac', args[1] ?? null, isBytes, 'bytes');
    const alg = algorithm('hash.compute_hmac', args[2] ?? null);
    return new Uint8Array(createHmac(alg, key).update(data).digest());
  },
  'time.format': (args) => {
    arity('time.format', args, 1, 2);
    const seconds = Number(expect('time.format', args[0] ?? null, isNum, 'a number'));
    const zone = args[1] ?? null;
    return formatTime(
      seconds,
      zone === null ? '' : expect('time.format', zone, isString, 'a string'),
    );
  },
  'time.parse': (args) => {
    arity('time.parse', args, 1);
    const text = expect('time.parse', args[0] ?? null, isString, 'an RFC 3339 string');
    // Strict: a time without a zone was read in local-cloud's own zone by Date.parse, and
    // "Dec 7 2026" or "2026-02-30" (rolled to Mar 2) passed.
    const ms = rfc3339Ms(text);
    if (ms === undefined) throw taggedError('ValueError', `time.parse: not RFC 3339: ${text}`);
    return ms / 1000;
  },
};
