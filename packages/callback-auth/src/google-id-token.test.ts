import { AppError } from '@slideshow/runtime';
import { IdTokenClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackVerifier } from './callback-auth.ts';
import { createGoogleIdTokenCredentials, createGoogleIdTokenVerifier } from './google-id-token.ts';
import {
  type CertsServer,
  makeKey,
  signJwt,
  startCertsServer,
  type TestKey,
  unsignedJwt,
} from './testing/test-tokens.ts';

const AUDIENCE = 'https://backend-abc123-ew.a.run.app';
const PROCESSOR = 'processor@demo-project.iam.gserviceaccount.com';
const WORKFLOW = 'workflow@demo-project.iam.gserviceaccount.com';

let key: TestKey;
let otherKey: TestKey;
let certs: CertsServer;
let verifier: CallbackVerifier;

beforeAll(async () => {
  key = makeKey('key-1');
  otherKey = makeKey('key-2');
  certs = await startCertsServer([key]);
  verifier = createGoogleIdTokenVerifier({
    audience: AUDIENCE,
    allowedEmails: [PROCESSOR, WORKFLOW],
    certsUrl: certs.url,
  });
});

afterAll(async () => {
  await certs.close();
});

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    azp: '1234567890',
    sub: '1234567890',
    email: PROCESSOR,
    email_verified: true,
    iat: now - 10,
    exp: now + 3590,
    ...overrides,
  };
}

async function rejection(authorization: string | undefined, v = verifier): Promise<AppError> {
  const error = await v.verify(authorization).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected a rejection, got ${String(error)}`);
  return error;
}

/** Asserts UNAUTHENTICATED with `reason`, and that no part of the token leaks into the message. */
async function expectRejected(token: string, reason: string): Promise<void> {
  const error = await rejection(`Bearer ${token}`);
  expect(error.code).toBe('UNAUTHENTICATED');
  expect(error.retryable).toBe(false);
  expect(error.message).toBe(`callback credential rejected: ${reason}`);
  for (const part of token.split('.').filter((p) => p.length > 8)) {
    expect(error.message).not.toContain(part);
    expect(JSON.stringify(error.context)).not.toContain(part);
  }
}

describe('the Google ID-token verifier', () => {
  it('accepts a token signed by a published key for the backend audience from an allowed account', async () => {
    const principal = await verifier.verify(`Bearer ${signJwt(key, claims())}`);
    expect(principal).toEqual({ kind: 'google', email: PROCESSOR, subject: '1234567890' });
  });

  it('accepts the workflow account and the short issuer form', async () => {
    const principal = await verifier.verify(
      `Bearer ${signJwt(key, claims({ email: WORKFLOW, iss: 'accounts.google.com' }))}`,
    );
    expect(principal.email).toBe(WORKFLOW);
  });

  it('accepts any of several configured audiences', async () => {
    const multi = createGoogleIdTokenVerifier({
      audience: ['https://other.example', AUDIENCE],
      allowedEmails: [PROCESSOR],
      certsUrl: certs.url,
    });
    expect((await multi.verify(`Bearer ${signJwt(key, claims())}`)).kind).toBe('google');
  });

  it('fetches the certificates once and then serves them from the cache Cache-Control allows', async () => {
    const before = certs.hits;
    const fresh = createGoogleIdTokenVerifier({
      audience: AUDIENCE,
      allowedEmails: [PROCESSOR],
      certsUrl: certs.url,
    });
    for (let i = 0; i < 5; i += 1) await fresh.verify(`Bearer ${signJwt(key, claims())}`);
    expect(certs.hits - before).toBe(1);
  });

  it('accepts tokens when the certificates are published as JWKS', async () => {
    const jwks = await startCertsServer([key], { format: 'jwks' });
    try {
      const v = createGoogleIdTokenVerifier({
        audience: AUDIENCE,
        allowedEmails: [PROCESSOR],
        certsUrl: jwks.url,
      });
      expect((await v.verify(`Bearer ${signJwt(key, claims())}`)).email).toBe(PROCESSOR);
    } finally {
      await jwks.close();
    }
  });

  it('refuses a token for another audience', async () => {
    await expectRejected(signJwt(key, claims({ aud: 'https://evil.example' })), 'wrong audience');
  });

  it('refuses a token from another issuer', async () => {
    await expectRejected(signJwt(key, claims({ iss: 'https://evil.example' })), 'wrong issuer');
  });

  it('refuses a token signed with a key id Google does not publish', async () => {
    await expectRejected(signJwt(otherKey, claims()), 'unknown signing key');
  });

  it('refuses a token whose signature does not match the published key', async () => {
    await expectRejected(signJwt(otherKey, claims(), { kid: key.kid }), 'bad signature');
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const [head, , signature] = signJwt(key, claims({ email: 'someone@example.com' })).split('.');
    const forged = Buffer.from(JSON.stringify(claims())).toString('base64url');
    await expectRejected(`${head}.${forged}.${signature}`, 'bad signature');
  });

  it('refuses a token whose signature is spelled with stray bits in its last character', async () => {
    const token = signJwt(key, claims());
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(token.at(-1) ?? 'A');
    // A 256-byte signature uses only the top 2 bits of its last base64url character.
    const sameBytes = alphabet[(last & 0x30) | ((last + 1) & 0x0f)] ?? 'A';
    const respelled = `${token.slice(0, -1)}${sameBytes}`;
    expect(Buffer.from(respelled.split('.')[2] ?? '', 'base64url')).toEqual(
      Buffer.from(token.split('.')[2] ?? '', 'base64url'),
    );
    await expectRejected(respelled, 'malformed token');
  });

  it('refuses a token that expired long ago', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(signJwt(key, claims({ iat: now - 7200, exp: now - 3600 })), 'expired');
  });

  it('refuses a token that expired a minute ago, beyond the 30 second skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(signJwt(key, claims({ iat: now - 3660, exp: now - 60 })), 'expired');
  });

  it('refuses a token issued in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(
      signJwt(key, claims({ iat: now + 120, exp: now + 3600 })),
      'not yet valid',
    );
  });

  it('refuses a token whose nbf is in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(signJwt(key, claims({ nbf: now + 600 })), 'not yet valid');
  });

  it('refuses a token from an account that is not allowed', async () => {
    await expectRejected(
      signJwt(key, claims({ email: 'intruder@demo-project.iam.gserviceaccount.com' })),
      'caller not allowed',
    );
  });

  it('refuses a token whose email is not verified', async () => {
    await expectRejected(signJwt(key, claims({ email_verified: false })), 'email not verified');
  });

  it('refuses a token without an email', async () => {
    await expectRejected(signJwt(key, claims({ email: undefined })), 'caller not allowed');
  });

  it('refuses an unsigned token with alg none', async () => {
    await expectRejected(unsignedJwt({ alg: 'none', kid: key.kid }, claims()), 'malformed token');
    await expectRejected(
      unsignedJwt({ alg: 'none', kid: key.kid }, claims(), 'c2ln'),
      'unsupported algorithm',
    );
  });

  it('refuses an HS256 token (key confusion with the public key)', async () => {
    await expectRejected(
      unsignedJwt({ alg: 'HS256', kid: key.kid }, claims(), 'c2lnbmF0dXJl'),
      'unsupported algorithm',
    );
  });

  it('refuses malformed headers and tokens', async () => {
    for (const [header, reason] of [
      ['Bearer', 'not a bearer credential'],
      ['Bearer ', 'not a bearer credential'],
      ['Basic dXNlcjpwYXNz', 'not a bearer credential'],
      ['Bearer not-a-jwt', 'malformed token'],
      ['Bearer a.b', 'malformed token'],
      ['Bearer a.b.c.d', 'malformed token'],
      ['Bearer !!!.???.***', 'malformed token'],
    ] as const) {
      const error = await rejection(header);
      expect(error.code, header).toBe('UNAUTHENTICATED');
      expect(error.message, header).toBe(`callback credential rejected: ${reason}`);
    }
  });

  it('refuses a request without an Authorization header', async () => {
    const error = await rejection(undefined);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toBe('callback credential rejected: missing Authorization header');
  });

  it('reports an unreachable certificate endpoint as a retryable internal error, not as the caller’s fault', async () => {
    const down = await startCertsServer([key]);
    await down.close();
    const offline = createGoogleIdTokenVerifier({
      audience: AUDIENCE,
      allowedEmails: [PROCESSOR],
      certsUrl: down.url,
    });
    const token = signJwt(key, claims());
    const error = await rejection(`Bearer ${token}`, offline);
    expect(error.code).toBe('INTERNAL');
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain(token);
  });

  it('refuses to be built without an audience or allowed emails', () => {
    expect(() => createGoogleIdTokenVerifier({ audience: '', allowedEmails: [PROCESSOR] })).toThrow(
      'Expected a non-empty string or list of strings for audience but received "" of type string',
    );
    expect(() => createGoogleIdTokenVerifier({ audience: AUDIENCE, allowedEmails: [] })).toThrow(
      'Expected at least one entry in allowedEmails or allowedSubjects but received none',
    );
    expect(() =>
      createGoogleIdTokenVerifier({ audience: AUDIENCE, allowedSubjects: ['processor@x'] }),
    ).toThrow(
      'Expected a service account unique ID (digits) in allowedSubjects but received "processor@x" of type string',
    );
  });
});

// A Google-signed service-account ID token always carries `sub` (the account's
// unique ID); `email` only when the issuer was asked to include it, which no
// Google document promises for a workflow's `auth: type: OIDC` token. So the
// deploy allows both callers by unique ID (CALLBACK_ALLOWED_SUBJECTS).
describe('the Google ID-token verifier, callers allowed by unique ID (sub)', () => {
  const PROCESSOR_ID = '101010101010101010101';
  const WORKFLOW_ID = '202020202020202020202';
  let bySubject: CallbackVerifier;

  beforeAll(() => {
    bySubject = createGoogleIdTokenVerifier({
      audience: AUDIENCE,
      allowedEmails: [PROCESSOR],
      allowedSubjects: [PROCESSOR_ID, WORKFLOW_ID],
      certsUrl: certs.url,
    });
  });

  it('accepts a workflow token that carries only sub and azp, no email', async () => {
    const token = signJwt(
      key,
      claims({ sub: WORKFLOW_ID, azp: WORKFLOW_ID, email: undefined, email_verified: undefined }),
    );
    expect(await bySubject.verify(`Bearer ${token}`)).toEqual({
      kind: 'google',
      subject: WORKFLOW_ID,
    });
  });

  it('accepts an allowed sub whatever email the token names, and reports the verified one', async () => {
    const token = signJwt(key, claims({ sub: PROCESSOR_ID, email: PROCESSOR }));
    expect(await bySubject.verify(`Bearer ${token}`)).toEqual({
      kind: 'google',
      email: PROCESSOR,
      subject: PROCESSOR_ID,
    });
  });

  it('refuses an email-less token whose sub is not allowed', async () => {
    const error = await rejection(
      `Bearer ${signJwt(key, claims({ sub: '999', email: undefined, email_verified: undefined }))}`,
      bySubject,
    );
    expect(error.message).toBe('callback credential rejected: caller not allowed');
  });

  it('refuses an azp that is allowed when the sub is not: only sub names the caller', async () => {
    const token = signJwt(
      key,
      claims({ sub: '999', azp: WORKFLOW_ID, email: undefined, email_verified: undefined }),
    );
    const error = await rejection(`Bearer ${token}`, bySubject);
    expect(error.message).toBe('callback credential rejected: caller not allowed');
  });

  it('still accepts the allowed email when the sub is unknown (a processor token without a listed ID)', async () => {
    const token = signJwt(key, claims({ sub: '999', email: PROCESSOR }));
    expect(await bySubject.verify(`Bearer ${token}`)).toEqual({
      kind: 'google',
      email: PROCESSOR,
      subject: '999',
    });
  });

  it('refuses a workflow token without email when only emails are configured (the pre-fix deploy)', async () => {
    const token = signJwt(
      key,
      claims({ sub: WORKFLOW_ID, azp: WORKFLOW_ID, email: undefined, email_verified: undefined }),
    );
    const error = await rejection(`Bearer ${token}`);
    expect(error.message).toBe('callback credential rejected: caller not allowed');
  });
});

describe('the Google ID-token credentials', () => {
  it('produces a bearer header the verifier accepts, fetching the token once while it is fresh', async () => {
    const audiences: string[] = [];
    const client = new IdTokenClient({
      targetAudience: AUDIENCE,
      idTokenProvider: {
        fetchIdToken: async (audience: string) => {
          audiences.push(audience);
          return signJwt(key, claims({ aud: audience }));
        },
      },
    });
    const credentials = createGoogleIdTokenCredentials({ audience: AUDIENCE, authClient: client });
    const first = await credentials.authorizationHeader();
    const second = await credentials.authorizationHeader();
    expect(first).toBe(second);
    expect(audiences).toEqual([AUDIENCE]);
    expect(await verifier.verify(first)).toMatchObject({ kind: 'google', email: PROCESSOR });
  });

  it('fetches a new token when the cached one is within five minutes of expiry', async () => {
    let fetches = 0;
    const client = new IdTokenClient({
      targetAudience: AUDIENCE,
      idTokenProvider: {
        fetchIdToken: async () => {
          fetches += 1;
          return signJwt(key, claims({ exp: Math.floor(Date.now() / 1000) + 120 }));
        },
      },
    });
    const credentials = createGoogleIdTokenCredentials({ audience: AUDIENCE, authClient: client });
    await credentials.authorizationHeader();
    await credentials.authorizationHeader();
    expect(fetches).toBe(2);
  });

  it('reports a failing token source as a retryable internal error', async () => {
    const client = new IdTokenClient({
      targetAudience: AUDIENCE,
      idTokenProvider: {
        fetchIdToken: async () => {
          throw new Error('metadata server unavailable');
        },
      },
    });
    const credentials = createGoogleIdTokenCredentials({ audience: AUDIENCE, authClient: client });
    const error = await credentials.authorizationHeader().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('INTERNAL');
    expect((error as AppError).retryable).toBe(true);
  });
});
