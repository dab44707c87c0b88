import { randomBytes } from 'node:crypto';
import { IdTokenClient } from 'google-auth-library';
import { createGoogleIdTokenCredentials, createGoogleIdTokenVerifier } from './google-id-token.ts';
import { createSharedSecretCredentials, createSharedSecretVerifier } from './shared-secret.ts';
import { makeKey, signJwt, startCertsServer } from './testing/test-tokens.ts';
import { describeCallbackVerifierContract } from './testing/verifier-contract.ts';

describeCallbackVerifierContract('the shared-secret verifier', async () => {
  const secret = randomBytes(32).toString('base64url');
  return {
    verifier: createSharedSecretVerifier(secret),
    credentials: createSharedSecretCredentials(secret),
    teardown: async () => {},
  };
});

describeCallbackVerifierContract('the Google ID-token verifier', async () => {
  const key = makeKey('contract-key');
  const certs = await startCertsServer([key]);
  const audience = 'https://backend.example.run.app';
  const email = 'processor@p.iam.gserviceaccount.com';
  const client = new IdTokenClient({
    targetAudience: audience,
    idTokenProvider: {
      fetchIdToken: async (aud: string) => {
        const now = Math.floor(Date.now() / 1000);
        return signJwt(key, {
          iss: 'https://accounts.google.com',
          aud,
          sub: '42',
          email,
          email_verified: true,
          iat: now,
          exp: now + 3600,
        });
      },
    },
  });
  return {
    verifier: createGoogleIdTokenVerifier({
      audience,
      allowedEmails: [email],
      certsUrl: certs.url,
    }),
    credentials: createGoogleIdTokenCredentials({ audience, authClient: client }),
    teardown: () => certs.close(),
  };
});
