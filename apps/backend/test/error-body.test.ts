/**
 * What a caller learns from a failure no code of ours expected: its code and
 * request id, never its message (a path, SQL, a library's internals), which
 * stays in the ERROR log line with the same request id.
 */
import { ErrorAnswer } from '@slideshow/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer, makeApp, type TestApp } from './helpers.ts';

describe('an unexpected failure in a request', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.cleanup());

  it('answers 500 INTERNAL with the request id and without the failure message', async () => {
    // A failure no route expects: the table the public list reads is gone.
    t.db.exec('DROP TABLE images');
    const response = await t.app.request('/api/slideshow', {
      headers: { 'X-Request-Id': 'req-internal-1' },
    });
    const body = await expectAnswer(ErrorAnswer, response, 500);
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.requestId).toBe('req-internal-1');
    expect(body.error.message).toContain('req-internal-1');
    expect(body.error.message).not.toMatch(/images|no such table|SQLITE/i);
  });

  it('says nosniff on every answer: JSON, errors, a missing route, the pages', async () => {
    t.db.exec('DROP TABLE images');
    for (const path of ['/healthz', '/api/slideshow', '/no-such-route', '/admin', '/']) {
      const response = await t.app.request(path);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('tells browsers to use HTTPS only (HSTS) in production over HTTPS, on every answer, and never locally', async () => {
    const prod = await makeApp({ mode: 'production', publicUrl: 'https://slides.example.com' });
    try {
      prod.db.exec('DROP TABLE images');
      for (const path of ['/healthz', '/api/slideshow', '/no-such-route', '/admin', '/']) {
        const response = await prod.app.request(path, {
          headers: { Host: 'slides.example.com' },
        });
        expect(response.headers.get('strict-transport-security'), path).toBe('max-age=63072000');
      }
    } finally {
      await prod.cleanup();
    }
    const local = await t.app.request('/healthz');
    expect(local.headers.get('strict-transport-security')).toBeNull();
  });
});
