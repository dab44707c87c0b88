/**
 * A test app whose processing callbacks are verified as Google ID tokens: a
 * loopback certs server publishes `key`, one service account is allowed, and
 * one image is uploaded to call back about. `googleCallbackApp()` registers its
 * own `beforeAll`/`afterAll` in the calling `describe`; `claims()` makes a
 * valid token's claims, which a test overrides one at a time.
 */
import { createGoogleIdTokenVerifier } from '@slideshow/callback-auth/google';
import { makeKey, startCertsServer } from '@slideshow/callback-auth/testing/test-tokens';
import { afterAll, beforeAll } from 'vitest';
import { makeApp, type TestApp, uploadPng } from './helpers.ts';

export function googleCallbackApp() {
  const key = makeKey('k1');
  /** Another key under the same key id: what a forger would sign with. */
  const stranger = makeKey('k1');
  const audience = 'https://backend.example.run.app';
  const email = 'processor@p.iam.gserviceaccount.com';
  let certs: { url: string; close(): Promise<void> } | undefined;
  /** Set as soon as it exists, so afterAll cleans it up even when the upload fails. */
  let app: TestApp | undefined;
  let current: { t: TestApp; id: string } | undefined;

  beforeAll(async () => {
    certs = await startCertsServer([key]);
    const t = await makeApp({
      callbackVerifier: createGoogleIdTokenVerifier({
        audience,
        allowedEmails: [email],
        certsUrl: certs.url,
      }),
    });
    app = t;
    current = { t, id: await uploadPng(t, 1) };
  });
  afterAll(async () => {
    app?.cleanup();
    await certs?.close();
  });

  return {
    key,
    stranger,
    /** The app and the uploaded image's id (set once the suite's beforeAll ran). */
    get current(): { t: TestApp; id: string } {
      if (!current) throw new Error('googleCallbackApp: used before its beforeAll ran');
      return current;
    },
    claims(overrides: Record<string, unknown> = {}) {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: 'https://accounts.google.com',
        aud: audience,
        sub: '1234',
        email,
        email_verified: true,
        iat: now - 10,
        exp: now + 3000,
        ...overrides,
      };
    },
  };
}
