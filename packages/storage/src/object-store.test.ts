import { describe, expect, it } from 'vitest';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  isValidKey,
  MAX_KEY_BYTES,
} from './object-store.ts';

describe('assertValidKey', () => {
  it.each([
    'images/0b7c/v3/640.avif',
    'originals/2026/photo.final.jpg',
    'ünïcödé/名前.png',
    'a',
    '.hidden/file',
    'trailing.dot.',
  ])('accepts the ordinary key %j', (key) => {
    expect(() => assertValidKey(key)).not.toThrow();
  });

  it('accepts a key of exactly 1024 UTF-8 bytes and refuses one byte more', () => {
    expect(() => assertValidKey('k'.repeat(MAX_KEY_BYTES))).not.toThrow();
    expect(() => assertValidKey('k'.repeat(MAX_KEY_BYTES + 1))).toThrow(/longer than 1024 bytes/);
  });

  it.each([
    ['', 'it is empty'],
    ['../x', 'it has a ".." segment'],
    ['a/./b', 'it has a "." segment'],
    ['/abs', 'it is absolute'],
    ['C:/windows', 'it starts with a drive letter'],
    ['a\\b', 'it contains a backslash'],
    ['a\u0000b', 'it contains a control character'],
    ['a\u007fb', 'it contains a control character'],
    ['a\u0085b', 'it contains a control character'],
    ['dir/', 'it has an empty segment'],
    ['bad\ud800surrogate', 'it is not well-formed Unicode'],
  ])('refuses %j because %s', (key, reason) => {
    expect(() => assertValidKey(key)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', retryable: false }),
    );
    expect(() => assertValidKey(key)).toThrow(reason);
  });

  it('names the expected shape and the received key in its message', () => {
    expect(() => assertValidKey('../etc/passwd')).toThrow(
      'Expected a relative object key but received "../etc/passwd": it has a ".." segment',
    );
  });

  it('answers the same question as a boolean through isValidKey', () => {
    expect(isValidKey('a/b')).toBe(true);
    expect(isValidKey('a//b')).toBe(false);
  });
});

describe('assertValidPrefix', () => {
  it('accepts the empty prefix, a folder-like prefix and a partial segment', () => {
    for (const prefix of ['', 'images/', 'images/ab', 'a'])
      expect(() => assertValidPrefix(prefix)).not.toThrow();
  });

  it('refuses prefixes that no valid key could start with', () => {
    for (const prefix of ['/', '../', 'a//', '/images/']) {
      expect(() => assertValidPrefix(prefix)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});

describe('assertValidRange', () => {
  it('accepts open and closed ranges of non-negative integers', () => {
    for (const range of [undefined, {}, { start: 0 }, { end: 0 }, { start: 3, end: 3 }]) {
      expect(() => assertValidRange('k', range)).not.toThrow();
    }
  });

  it('refuses negative, fractional and reversed ranges', () => {
    for (const range of [
      { start: -1 },
      { end: 1.5 },
      { start: 4, end: 3 },
      { start: Number.NaN },
    ]) {
      expect(() => assertValidRange('k', range)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});
