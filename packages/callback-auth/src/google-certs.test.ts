import { AppError } from '@slideshow/runtime';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCertCache } from './google-certs.ts';
import {
  type CertsServer,
  makeKey,
  startCertsServer,
  type TestKey,
} from './testing/test-tokens.ts';

let oldKey: TestKey;
let newKey: TestKey;
const servers: CertsServer[] = [];

beforeAll(() => {
  oldKey = makeKey('old');
  newKey = makeKey('new');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(...args: Parameters<typeof startCertsServer>): Promise<CertsServer> {
  const server = await startCertsServer(...args);
  servers.push(server);
  return server;
}

describe('the certificate cache', () => {
  it('reads the PEM-map format', async () => {
    const server = await serve([oldKey]);
    const certs = await createCertCache({ url: server.url }).certsFor('old');
    expect(certs.old).toBe(oldKey.publicKeyPem);
  });

  it('reads the JWKS format and converts the keys to PEM', async () => {
    const server = await serve([oldKey, newKey], { format: 'jwks' });
    const certs = await createCertCache({ url: server.url }).certsFor('new');
    expect(Object.keys(certs).sort()).toEqual(['new', 'old']);
    expect(certs.new).toBe(newKey.publicKeyPem);
  });

  it('serves from cache until max-age has passed, then fetches again', async () => {
    const server = await serve([oldKey], { cacheControl: 'public, max-age=600' });
    let clock = 1_000_000;
    const cache = createCertCache({ url: server.url, now: () => clock });
    await cache.certsFor('old');
    clock += 599_000;
    await cache.certsFor('old');
    expect(server.hits).toBe(1);
    clock += 2_000;
    await cache.certsFor('old');
    expect(server.hits).toBe(2);
  });

  it('does not cache a response without max-age', async () => {
    const server = await serve([oldKey], { cacheControl: 'no-store' });
    const cache = createCertCache({ url: server.url });
    await cache.certsFor('old');
    await cache.certsFor('old');
    expect(server.hits).toBe(2);
  });

  it('picks up a rotated key early, but refetches for unknown key ids at most once a minute', async () => {
    const server = await serve([oldKey]);
    let clock = 1_000_000;
    const cache = createCertCache({ url: server.url, now: () => clock });
    await cache.certsFor('old');
    server.setKeys([oldKey, newKey]);
    clock += 30_000;
    expect(Object.keys(await cache.certsFor('new'))).toEqual(['old']);
    expect(server.hits).toBe(1);
    clock += 30_000;
    expect(Object.keys(await cache.certsFor('new')).sort()).toEqual(['new', 'old']);
    expect(server.hits).toBe(2);
  });

  it('shares one fetch between concurrent callers', async () => {
    const server = await serve([oldKey]);
    const cache = createCertCache({ url: server.url });
    await Promise.all([cache.certsFor('old'), cache.certsFor('old'), cache.certsFor('old')]);
    expect(server.hits).toBe(1);
  });

  it('reports an unreachable certificate URL as a retryable internal error', async () => {
    const server = await startCertsServer([oldKey]);
    await server.close();
    const error = await createCertCache({ url: server.url })
      .certsFor('old')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('INTERNAL');
    expect((error as AppError).retryable).toBe(true);
  });
});
