/**
 * Hostile callers with Google ID tokens (docs/security.md): every processing callback
 * refuses tokens for another audience, from an unknown key, expired, from
 * another issuer or service account, unverified or unsigned — with the error
 * shape and an unchanged database.
 */
import { signJwt } from '@slideshow/callback-auth/testing/test-tokens';
import { beforeAll, describe, expect, it } from 'vitest';
import { googleCallbackApp } from './google-callbacks.ts';
import { expectJson, sampleResult, type TestApp } from './helpers.ts';
import { expectRefused, routesUnder, snapshotDatabase } from './hostile-callers-checks.ts';

describe('hostile callers with Google ID tokens', () => {
  const google = googleCallbackApp();
  const { key, stranger: unknown, claims } = google;
  let t: TestApp;
  let id: string;
  beforeAll(() => {
    ({ t, id } = google.current);
  });

  it('refuses every callback route with a token for another audience, from an unknown key, expired, unverified or from another account', async () => {
    const tokens: [string, string][] = [
      ['another audience', signJwt(key, claims({ aud: 'https://other.example' }))],
      ['an unknown key', signJwt(unknown, claims())],
      ['an expired token', signJwt(key, claims({ iat: 1_000, exp: 4_600 }))],
      ['another issuer', signJwt(key, claims({ iss: 'https://evil.example' }))],
      ['an unverified email', signJwt(key, claims({ email_verified: false }))],
      ['another service account', signJwt(key, claims({ email: 'x@p.iam.gserviceaccount.com' }))],
      ['no signature', `${signJwt(key, claims()).split('.').slice(0, 2).join('.')}.`],
    ];
    const routes = routesUnder(t, ['/api/processing/']);
    expect(routes).toHaveLength(4);
    for (const route of routes) {
      for (const [name, token] of tokens) {
        const body = route.path.endsWith('/:id')
          ? undefined
          : JSON.stringify({
              generation: 0,
              code: 'CORRUPT_IMAGE',
              message: 'x',
              result: sampleResult(),
            });
        const db = snapshotDatabase(t);
        const what = `${route.method} ${route.path} with ${name}`;
        await expectRefused(
          await t.app.request(route.path.replace(':id', id), {
            method: route.method,
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            ...(body ? { body } : {}),
          }),
          401,
          'UNAUTHENTICATED',
          what,
        );
        expect(snapshotDatabase(t), what).toBe(db);
      }
    }
    // The same request with a good token is accepted: the refusals above were about the token.
    await expectJson(
      await t.app.request(`/api/processing/${id}/started`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${signJwt(key, claims())}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ generation: 0 }),
      }),
      200,
    );
  });
});
