/**
 * RS256 ID tokens signed by a key made in the test, and a loopback endpoint
 * publishing its public key in the PEM-map format of Google's
 * https://www.googleapis.com/oauth2/v1/certs. Nothing leaves loopback.
 */
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A signing key. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** Makes an RSA-2048 key. */
export function makeSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An RS256 JWT over `claims`. */
export function signIdToken(key: SigningKey, claims: Record<string, unknown>): string {
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${part(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url')}`;
}

/** Serves the public keys of `keys`; returns the URL and a close function. */
export async function serveCerts(
  keys: SigningKey[],
): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify(Object.fromEntries(keys.map((k) => [k.kid, k.publicKeyPem])));
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=3600',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth2/v1/certs`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
