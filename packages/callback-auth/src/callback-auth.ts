/**
 * The callback-auth port (docs/architecture.md#authentication): the backend verifies the
 * Authorization
 * header of every processing callback with a {@link CallbackVerifier}; the
 * processor produces that header with {@link CallbackCredentials}. Adapters:
 * `@slideshow/callback-auth/google` (Google-signed ID tokens, production) and
 * `@slideshow/callback-auth/shared-secret` (local stacks).
 */

/** Who made an authenticated callback. */
export interface CallbackPrincipal {
  kind: 'google' | 'shared-secret';
  /** The service account email (Google ID tokens only). */
  email?: string;
  /** The token's `sub` claim (Google ID tokens only). */
  subject?: string;
}

/** Checks an Authorization header; backend side. */
export interface CallbackVerifier {
  /**
   * Resolves to the caller, or rejects with `AppError('UNAUTHENTICATED')` on a
   * missing, malformed, forged, expired or unexpected credential. The message
   * never contains the token.
   */
  verify(authorization: string | undefined): Promise<CallbackPrincipal>;
}

/** Produces the Authorization header value for callbacks; processor side. */
export interface CallbackCredentials {
  /** The full header value, e.g. `Bearer eyJ…`. */
  authorizationHeader(): Promise<string>;
}

/**
 * Extracts the credential from `Bearer <credential>` (scheme case-insensitive,
 * RFC 7235 §2.1), or undefined when the header is absent or not a bearer.
 */
export function bearerCredential(authorization: string | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(authorization);
  return match?.[1];
}
