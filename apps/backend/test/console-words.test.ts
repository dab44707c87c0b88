/**
 * The console's words for error codes (src/web/assets/admin-api.js) against
 * the contracts' closed list: a code that can reach an admin — in an API
 * answer or a failed_tasks row — and has no words would show a bare message,
 * so adding a code to ERROR_CODES without words fails here
 * (docs/architecture.md, "Add an error code").
 */
import { ERROR_CODES, type ErrorCode } from '@slideshow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The codes no admin ever sees, and why. Keep it short: a code belongs here
 * only when no console request can be answered with it and no failed_tasks
 * row can hold it.
 */
const NEVER_SHOWN: Partial<Record<ErrorCode, string>> = {
  CLIENT_CLOSED_REQUEST: 'status 499: the client has gone before the answer; only the log has it',
  METHOD_NOT_ALLOWED:
    'the console sends each route only the methods it takes; only a hand-written request gets it',
  STALE_GENERATION:
    'answered only to processing callbacks; a stale report changes nothing and the processor exits 0 on it',
  SCHEMA_TOO_NEW:
    'a start-up refusal (src/db/migrate.ts): the backend that meets it never serves, so no request is answered with it',
};

interface AdminApi {
  WORDS: Record<string, string>;
  words: (error: { code?: string; message?: string } | undefined) => string;
}

describe('the console’s words for error codes', () => {
  let api: AdminApi;
  const hadDocument = 'document' in globalThis;

  beforeAll(async () => {
    // A browser module: it reads the page's data attributes at load, which a page without
    // them (body undefined) leaves empty. Nothing else of the DOM is touched by what is tested.
    if (!hadDocument) Object.assign(globalThis, { document: { body: undefined } });
    const path = '../src/web/assets/admin-api.js';
    api = (await import(path)) as AdminApi;
  });
  afterAll(() => {
    if (!hadDocument) Reflect.deleteProperty(globalThis, 'document');
  });

  it('has words for every code of ERROR_CODES that can reach an admin', () => {
    const missing = ERROR_CODES.filter(
      (code) => !(code in NEVER_SHOWN) && !(typeof api.WORDS[code] === 'string' && api.WORDS[code]),
    );
    expect(missing).toEqual([]);
  });

  it('has words only for codes of ERROR_CODES, and none for a code no admin sees', () => {
    const known = new Set<string>(ERROR_CODES);
    expect(Object.keys(api.WORDS).filter((code) => !known.has(code))).toEqual([]);
    expect(Object.keys(NEVER_SHOWN).filter((code) => !known.has(code))).toEqual([]);
    expect(Object.keys(NEVER_SHOWN).filter((code) => Object.hasOwn(api.WORDS, code))).toEqual([]);
  });

  it('shows the words with the code, and keeps the message where it names the specifics', () => {
    expect(api.words({ code: 'FORBIDDEN', message: '403 from storage.googleapis.com' })).toBe(
      `${api.WORDS.FORBIDDEN} (FORBIDDEN)`,
    );
    expect(
      api.words({ code: 'VALIDATION_FAILED', message: 'invalid request: title: too long' }),
    ).toBe(`${api.WORDS.VALIDATION_FAILED} Invalid request: title: too long (VALIDATION_FAILED)`);
    expect(api.words({ code: 'INTERNAL' })).toBe(`${api.WORDS.INTERNAL} (INTERNAL)`);
  });

  it('falls back to the message, never to an inherited property, for a code it does not know', () => {
    expect(api.words({ code: 'NEWER_CODE', message: 'from a newer processor' })).toBe(
      'from a newer processor (NEWER_CODE)',
    );
    expect(api.words({ code: 'constructor', message: 'odd' })).toBe('odd (constructor)');
    expect(api.words({ message: 'HTTP 502' })).toBe('HTTP 502');
    expect(api.words(undefined)).toBe('Unknown error.');
  });
});
