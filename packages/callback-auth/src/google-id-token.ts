/**
 * Google ID-token callback auth for production (docs/architecture.md#authentication). The processor
 * (a
 * Cloud Run job) and the workflow (`auth: type: OIDC`) call the backend with
 * an ID token of their service account whose audience is the backend URL;
 * the backend checks signature, audience, issuer, lifetime and who the caller
 * is: the `sub` claim (the service account's unique ID) or the verified email.
 *
 * Why `sub` as well as `email`: a Google-signed ID token of a service account
 * always carries `sub` (and `azp`), the account's numeric unique ID; `email`
 * and `email_verified` are there only when the issuer was asked for them
 * (IAM Credentials `generateIdToken` with `includeEmail: true`, the metadata
 * server with `format=full` — which google-auth-library requests, so the
 * processor's tokens have it). Google documents no such option, and no
 * claim list, for the ID token a workflow's `auth: type: OIDC` attaches
 * (https://cloud.google.com/workflows/docs/authenticate-from-workflow), so
 * the identity this verifier can rely on for both callers is `sub`
 * (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateIdToken).
 * The deploy passes the two accounts' unique IDs (cloudbuild/backend.cloudbuild.yaml).
 *
 * The signature, audience and issuer checks are google-auth-library's
 * `OAuth2Client.verifySignedJwtWithCertsAsync`; the certificates come from
 * google-certs.ts (PEM map or JWKS, cached per Cache-Control, refetched early
 * on an unknown key id). The library's time checks allow 5 minutes of skew
 * and ignore `nbf`, so this module adds a stricter check (default 30 s),
 * `nbf`, an RS256-only header check (no `alg: none`, no HS256 key
 * confusion) and the caller check.
 */
import { AppError, coerceError } from '@slideshow/runtime';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import {
  bearerCredential,
  type CallbackCredentials,
  type CallbackPrincipal,
  type CallbackVerifier,
} from './callback-auth.ts';
import { createCertCache } from './google-certs.ts';
import { unauthenticated } from './unauthenticated.ts';

/** Google's certificate URL in the PEM-map format. */
export const GOOGLE_CERTS_URL = 'https://www.googleapis.com/oauth2/v1/certs';

/** Issuers of Google ID tokens (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken). */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

/** Options for {@link createGoogleIdTokenVerifier}. */
export interface GoogleIdTokenVerifierOptions {
  /** The backend's URL (or several), as the callers request it. */
  audience: string | string[];
  /** Service-account emails allowed to call back (processor, workflow), matched against a verified `email`. */
  allowedEmails?: string[];
  /** Service-account unique IDs allowed to call back, matched against `sub`. At least one of the two lists is needed. */
  allowedSubjects?: string[];
  /** Certificate URL, PEM map or JWKS; default Google's v1 (PEM) URL. Tests use a loopback server. */
  certsUrl?: string;
  /** Default {@link GOOGLE_ISSUERS}. */
  issuers?: string[];
  /** Tolerated clock difference for exp/iat/nbf in seconds (default 30). */
  clockSkewSeconds?: number;
}

type JsonObject = Record<string, unknown>;

function decodeSegment(segment: string | undefined): JsonObject | undefined {
  if (segment === undefined || !/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch (error) {
    // Undecodable segment: the caller maps `undefined` to UNAUTHENTICATED.
    coerceError(error);
    return undefined;
  }
}

/**
 * True when every segment is non-empty, canonical base64url (no padding, no
 * stray bits in the last character). Node's decoder ignores the unused low
 * bits, so without this check one token would have several spellings.
 */
function isCanonicalBase64url(segments: string[]): boolean {
  return segments.every(
    (segment) =>
      segment.length > 0 && Buffer.from(segment, 'base64url').toString('base64url') === segment,
  );
}

/** Maps google-auth-library's verification errors (whose messages embed the token) to fixed reasons. */
function libraryReason(message: string): string {
  if (message.startsWith('No pem found')) return 'unknown signing key';
  if (message.startsWith('Invalid token signature')) return 'bad signature';
  if (message.startsWith('Wrong recipient')) return 'wrong audience';
  if (message.startsWith('Invalid issuer')) return 'wrong issuer';
  if (message.startsWith('Token used too late')) return 'expired';
  if (message.startsWith('Token used too early')) return 'not yet valid';
  if (message.startsWith('Expiration time too far')) return 'lifetime too long';
  if (message.startsWith('No issue time') || message.startsWith('No expiration time')) {
    return 'missing time claims';
  }
  return 'invalid token';
}

/** The allowed callers, as two sets; throws when neither list names anyone. */
function allowedCallers(options: GoogleIdTokenVerifierOptions): {
  emails: Set<string>;
  subjects: Set<string>;
} {
  const emails = options.allowedEmails ?? [];
  const subjects = options.allowedSubjects ?? [];
  if (emails.length + subjects.length === 0) {
    throw new TypeError(
      'Expected at least one entry in allowedEmails or allowedSubjects but received none',
    );
  }
  if (emails.length > 0) nonEmptyStrings(emails, 'allowedEmails');
  for (const subject of subjects) {
    if (typeof subject !== 'string' || !/^[0-9]+$/.test(subject)) {
      throw new TypeError(
        `Expected a service account unique ID (digits) in allowedSubjects but received ${JSON.stringify(subject)} of type ${typeof subject}`,
      );
    }
  }
  return { emails: new Set(emails.map((e) => e.toLowerCase())), subjects: new Set(subjects) };
}

function nonEmptyStrings(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((v) => typeof v !== 'string' || v === '')
  ) {
    throw new TypeError(
      `Expected a non-empty string or list of strings for ${name} but received ${JSON.stringify(value)} of type ${typeof value}`,
    );
  }
  return list as string[];
}

/** Creates the production verifier. Certificates are fetched on first use, then cached. */
export function createGoogleIdTokenVerifier(
  options: GoogleIdTokenVerifierOptions,
): CallbackVerifier {
  const audience = nonEmptyStrings(options.audience, 'audience');
  const allowed = allowedCallers(options);
  const issuers = options.issuers ?? GOOGLE_ISSUERS;
  const skew = options.clockSkewSeconds ?? 30;
  const certs = createCertCache({ url: options.certsUrl ?? GOOGLE_CERTS_URL });
  // Used only for its offline JWT checks; it fetches nothing here.
  const client = new OAuth2Client();

  return {
    async verify(authorization): Promise<CallbackPrincipal> {
      if (authorization === undefined || authorization === '') {
        throw unauthenticated('missing Authorization header');
      }
      const token = bearerCredential(authorization);
      if (token === undefined) throw unauthenticated('not a bearer credential');
      const segments = token.split('.');
      const header = segments.length === 3 ? decodeSegment(segments[0]) : undefined;
      const claims = segments.length === 3 ? decodeSegment(segments[1]) : undefined;
      if (header === undefined || claims === undefined || !isCanonicalBase64url(segments)) {
        throw unauthenticated('malformed token');
      }
      // Google signs ID tokens with RS256 only; anything else (none, HS256…) is refused outright.
      if (header.alg !== 'RS256') throw unauthenticated('unsupported algorithm');
      if (typeof header.kid !== 'string' || header.kid === '')
        throw unauthenticated('missing key id');

      // A certificate fetch failure is our problem, not the caller's: it propagates as a
      // retryable INTERNAL error whose message has no token in it.
      const keys = await certs.certsFor(header.kid);
      try {
        await client.verifySignedJwtWithCertsAsync(token, keys, audience, issuers);
      } catch (error) {
        const message = coerceError(error).message;
        throw unauthenticated(libraryReason(message));
      }

      const now = Date.now() / 1000;
      const exp = Number(claims.exp);
      const iat = Number(claims.iat);
      if (!(now <= exp + skew)) throw unauthenticated('expired');
      if (!(iat <= now + skew)) throw unauthenticated('not yet valid');
      if (claims.nbf !== undefined && !(Number(claims.nbf) <= now + skew)) {
        throw unauthenticated('not yet valid');
      }
      if (typeof claims.iss !== 'string' || !issuers.includes(claims.iss)) {
        throw unauthenticated('wrong issuer');
      }
      const verifiedEmail =
        typeof claims.email === 'string' &&
        (claims.email_verified === true || claims.email_verified === 'true')
          ? claims.email
          : undefined;
      const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
      if (subject === undefined || !allowed.subjects.has(subject)) {
        // Not allowed by its unique ID: the verified email must be on the list.
        if (typeof claims.email === 'string' && verifiedEmail === undefined) {
          throw unauthenticated('email not verified');
        }
        if (verifiedEmail === undefined || !allowed.emails.has(verifiedEmail.toLowerCase())) {
          throw unauthenticated('caller not allowed');
        }
      }
      const principal: CallbackPrincipal = { kind: 'google' };
      if (verifiedEmail !== undefined) principal.email = verifiedEmail;
      if (subject !== undefined) principal.subject = subject;
      return principal;
    },
  };
}

/** Something that yields request headers carrying an ID token, e.g. google-auth-library's `IdTokenClient`. */
export interface IdTokenHeaderSource {
  getRequestHeaders(url?: string | URL): Promise<Headers>;
}

/** Options for {@link createGoogleIdTokenCredentials}. */
export interface GoogleIdTokenCredentialsOptions {
  /** The backend URL the token is for (the verifier's `audience`). */
  audience: string;
  /** Default: `new GoogleAuth().getIdTokenClient(audience)` (the metadata server on Cloud Run). */
  authClient?: IdTokenHeaderSource;
}

/**
 * The processor's production credentials: an ID token for `audience` from
 * the metadata server (https://cloud.google.com/run/docs/authenticating/service-to-service#acquire-token).
 * google-auth-library's `IdTokenClient` caches the token and fetches a new
 * one when it is within 5 minutes of expiry.
 */
export function createGoogleIdTokenCredentials(
  options: GoogleIdTokenCredentialsOptions,
): CallbackCredentials {
  const audience = nonEmptyStrings(options.audience, 'audience')[0] as string;
  let source: Promise<IdTokenHeaderSource> | undefined =
    options.authClient === undefined ? undefined : Promise.resolve(options.authClient);
  return {
    async authorizationHeader() {
      try {
        source ??= new GoogleAuth().getIdTokenClient(audience);
        const headers = await (await source).getRequestHeaders();
        const value = headers.get('authorization');
        if (value === null || !value.startsWith('Bearer ')) {
          throw new Error('the auth client returned no bearer Authorization header');
        }
        return value;
      } catch (error) {
        // A failed client creation is not cached: the next call tries again.
        if (options.authClient === undefined) source = undefined;
        throw new AppError('INTERNAL', `could not obtain an ID token for ${audience}`, {
          retryable: true,
          cause: coerceError(error),
        });
      }
    },
  };
}
