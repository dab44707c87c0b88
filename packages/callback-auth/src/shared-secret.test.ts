import { randomBytes } from 'node:crypto';
import { AppError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { createSharedSecretCredentials, createSharedSecretVerifier } from './shared-secret.ts';

const SECRET = randomBytes(32).toString('base64url');
const verifier = createSharedSecretVerifier(SECRET);

async function rejection(authorization: string | undefined): Promise<AppError> {
  const error = await verifier.verify(authorization).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected a rejection, got ${String(error)}`);
  return error;
}

describe('the shared-secret verifier', () => {
  it('accepts the right secret as a bearer credential', async () => {
    expect(await verifier.verify(`Bearer ${SECRET}`)).toEqual({ kind: 'shared-secret' });
    expect(await verifier.verify(`bearer ${SECRET}`)).toEqual({ kind: 'shared-secret' });
  });

  it('refuses a wrong secret without echoing either secret', async () => {
    const wrong = randomBytes(32).toString('base64url');
    const error = await rejection(`Bearer ${wrong}`);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toBe('callback credential rejected: wrong secret');
    expect(JSON.stringify({ m: error.message, c: error.context })).not.toContain(wrong);
    expect(JSON.stringify({ m: error.message, c: error.context })).not.toContain(SECRET);
  });

  it('refuses a prefix or an extension of the right secret', async () => {
    expect((await rejection(`Bearer ${SECRET.slice(0, -1)}`)).code).toBe('UNAUTHENTICATED');
    expect((await rejection(`Bearer ${SECRET}x`)).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a missing header, a bare scheme and another scheme', async () => {
    expect((await rejection(undefined)).message).toBe(
      'callback credential rejected: missing Authorization header',
    );
    expect((await rejection('')).message).toBe(
      'callback credential rejected: missing Authorization header',
    );
    expect((await rejection('Bearer')).message).toBe(
      'callback credential rejected: not a bearer credential',
    );
    expect((await rejection('Bearer ')).message).toBe(
      'callback credential rejected: not a bearer credential',
    );
    expect((await rejection(`Basic ${SECRET}`)).message).toBe(
      'callback credential rejected: not a bearer credential',
    );
    expect((await rejection(SECRET)).message).toBe(
      'callback credential rejected: not a bearer credential',
    );
  });

  it('refuses a secret shorter than 32 characters when it is created, without printing it', () => {
    expect(() => createSharedSecretVerifier('too-short-secret')).toThrow(
      'Expected a string of at least 32 characters for secret but received 16 characters of type string',
    );
    expect(() => createSharedSecretCredentials('x'.repeat(31))).toThrow(TypeError);
  });
});

describe('the shared-secret credentials', () => {
  it('produce the header the verifier accepts', async () => {
    const header = await createSharedSecretCredentials(SECRET).authorizationHeader();
    expect(header).toBe(`Bearer ${SECRET}`);
    expect(await verifier.verify(header)).toEqual({ kind: 'shared-secret' });
  });
});
