/**
 * Test helpers: RSA keys made in the test, RS256 JWTs signed with them, and a
 * loopback server publishing the public keys in the PEM-map format of
 * https://www.googleapis.com/oauth2/v1/certs. Nothing leaves loopback.
 */
import { createPublicKey, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A signing key with its key id. */
export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** Makes a 2048-bit RSA key (the size Google uses). */
export function makeKey(kid: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs `claims` as an RS256 JWT; `header` overrides the default header fields. */
export function signJwt(
  key: TestKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const input = `${b64url({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header })}.${b64url(claims)}`;
  const signature = createSign('RSA-SHA256')
    .update(input)
    .sign(key.privateKey)
    .toString('base64url');
  return `${input}.${signature}`;
}

/** A JWT with an arbitrary header and signature segment (for `alg: none` and friends). */
export function unsignedJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  signature = '',
): string {
  return `${b64url(header)}.${b64url(claims)}.${signature}`;
}

/** A running certificate endpoint. */
export interface CertsServer {
  url: string;
  /** How many times the certificates were fetched. */
  readonly hits: number;
  /** Replaces the published keys (a key rotation). */
  setKeys(keys: TestKey[]): void;
  close(): Promise<void>;
}

/** Options for {@link startCertsServer}. */
export interface CertsServerOptions {
  /** `pem`: `{kid: pem}` like oauth2/v1/certs; `jwks`: `{keys: [...]}` like oauth2/v3/certs. */
  format?: 'pem' | 'jwks';
  /** The Cache-Control header (default `public, max-age=3600, must-revalidate, no-transform`). */
  cacheControl?: string;
}

function certsBody(keys: TestKey[], format: 'pem' | 'jwks'): string {
  if (format === 'pem')
    return JSON.stringify(Object.fromEntries(keys.map((k) => [k.kid, k.publicKeyPem])));
  return JSON.stringify({
    keys: keys.map((k) => ({
      ...createPublicKey(k.publicKeyPem).export({ format: 'jwk' }),
      kid: k.kid,
      alg: 'RS256',
      use: 'sig',
    })),
  });
}

/** Serves the public keys of `keys` on loopback. */
export async function startCertsServer(
  keys: TestKey[],
  options: CertsServerOptions = {},
): Promise<CertsServer> {
  let hits = 0;
  const format = options.format ?? 'pem';
  let body = certsBody(keys, format);
  const server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, {
      'content-type': 'application/json; charset=UTF-8',
      'cache-control':
        options.cacheControl ?? 'public, max-age=3600, must-revalidate, no-transform',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth2/v1/certs`,
    get hits() {
      return hits;
    },
    setKeys(next) {
      body = certsBody(next, format);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
