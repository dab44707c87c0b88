/**
 * Shared-secret callback auth for local stacks (docs/architecture.md#authentication): the emulator
 * generates one secret per stack and hands it to the backend and to jobs;
 * callbacks carry `Authorization: Bearer <secret>`.
 */
import {
  bearerCredential,
  type CallbackCredentials,
  type CallbackPrincipal,
  type CallbackVerifier,
} from './callback-auth.ts';
import { unauthenticated } from './unauthenticated.ts';

/** Shortest secret accepted: 32 characters (e.g. 24 random bytes in base64url). */
export const MIN_SECRET_LENGTH = 32;

function checkSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    // Never print the secret itself, only its type and length.
    const length = typeof secret === 'string' ? `${secret.length} characters` : String(secret);
    throw new TypeError(
      `Expected a string of at least ${MIN_SECRET_LENGTH} characters for secret but received ${length} of type ${typeof secret}`,
    );
  }
  if (/\s/.test(secret)) {
    throw new TypeError('Expected a secret without whitespace (it travels in a bearer header)');
  }
  return secret;
}

// node:crypto is loaded on first use, not at import: the processor imports this
// module for its credentials only, and loading OpenSSL sits on its start-up path.
const crypto = () => process.getBuiltinModule('node:crypto');
const digest = (value: string): Buffer =>
  crypto().createHash('sha256').update(value, 'utf8').digest();

/**
 * Verifies `Bearer <secret>`. Both sides are hashed to 32 bytes before
 * `timingSafeEqual`, so the comparison time depends on neither the content
 * nor the length of what the caller sent.
 */
export function createSharedSecretVerifier(secret: string): CallbackVerifier {
  const expected = digest(checkSecret(secret));
  const principal: CallbackPrincipal = Object.freeze({ kind: 'shared-secret' as const });
  return {
    async verify(authorization) {
      if (authorization === undefined || authorization === '') {
        throw unauthenticated('missing Authorization header');
      }
      const credential = bearerCredential(authorization);
      if (credential === undefined) throw unauthenticated('not a bearer credential');
      if (!crypto().timingSafeEqual(digest(credential), expected))
        throw unauthenticated('wrong secret');
      return principal;
    },
  };
}

/** The processor's side: a constant `Bearer <secret>` header. */
export function createSharedSecretCredentials(secret: string): CallbackCredentials {
  const header = `Bearer ${checkSecret(secret)}`;
  return { authorizationHeader: async () => header };
}
