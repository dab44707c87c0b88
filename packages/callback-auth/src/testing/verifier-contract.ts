/**
 * The contract every CallbackVerifier passes together with its matching
 * CallbackCredentials (run from a vitest file): the credentials' header is
 * accepted; missing, non-bearer, empty and altered credentials are refused
 * with UNAUTHENTICATED; no rejection echoes the credential. Exported as
 * `@slideshow/callback-auth/testing/contract` for other adapters.
 */
import { AppError } from '@slideshow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackCredentials, CallbackVerifier } from '../callback-auth.ts';

/** A verifier, credentials it must accept, and cleanup. */
export interface VerifierContractSubject {
  verifier: CallbackVerifier;
  credentials: CallbackCredentials;
  teardown(): Promise<void>;
}

async function rejection(
  verifier: CallbackVerifier,
  header: string | undefined,
): Promise<AppError> {
  const error = await verifier.verify(header).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected a rejection for ${String(header)}`);
  return error;
}

/** Registers the contract suite for one verifier/credentials pair. */
export function describeCallbackVerifierContract(
  name: string,
  setup: () => Promise<VerifierContractSubject>,
): void {
  describe(`${name} (CallbackVerifier contract)`, () => {
    let subject: VerifierContractSubject;
    let header: string;

    beforeAll(async () => {
      subject = await setup();
      header = await subject.credentials.authorizationHeader();
    });
    afterAll(async () => {
      await subject.teardown();
    });

    it('accepts the header its credentials produce', async () => {
      expect(header).toMatch(/^Bearer \S+$/);
      const principal = await subject.verifier.verify(header);
      expect(['google', 'shared-secret']).toContain(principal.kind);
    });

    it('refuses a missing, empty, scheme-only or non-bearer header with UNAUTHENTICATED', async () => {
      const credential = header.slice('Bearer '.length);
      for (const bad of [undefined, '', 'Bearer', 'Bearer ', `Basic ${credential}`, credential]) {
        const error = await rejection(subject.verifier, bad);
        expect(error.code, String(bad)).toBe('UNAUTHENTICATED');
        expect(error.retryable).toBe(false);
      }
    });

    it('refuses an altered credential without echoing it', async () => {
      const credential = header.slice('Bearer '.length);
      const last = credential.at(-1) === 'A' ? 'B' : 'A';
      for (const altered of [
        `${credential.slice(0, -1)}${last}`,
        `${credential}x`,
        credential.slice(0, -4),
      ]) {
        const error = await rejection(subject.verifier, `Bearer ${altered}`);
        expect(error.code).toBe('UNAUTHENTICATED');
        expect(error.message).not.toContain(altered);
        expect(JSON.stringify(error.context)).not.toContain(altered);
      }
    });
  });
}
