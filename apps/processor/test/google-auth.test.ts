/**
 * The production callback credential (CALLBACK_AUTH=google) through the real
 * google-auth-library inside the bundle: a metadata server on loopback speaks
 * the GCE metadata protocol (GCE_METADATA_HOST, `Metadata-Flavor: Google`),
 * and a loopback endpoint records what the processor sends as the backend.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processorEnv, spawnProcessor } from './helpers.ts';

const payload = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString(
  'base64url',
);
const ID_TOKEN = `eyJhbGciOiJSUzI1NiJ9.${payload}.c2lnbmF0dXJl`;

let metadata: Server;
let backend: Server;
let metadataHost: string;
let backendUrl: string;
const metadataRequests: string[] = [];
const backendRequests: { url: string; authorization: string | undefined }[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  metadata = createServer((req: IncomingMessage, res) => {
    metadataRequests.push(req.url ?? '');
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403).end('missing Metadata-Flavor');
      return;
    }
    if (req.url?.startsWith('/computeMetadata/v1/instance/service-accounts/default/identity')) {
      res
        .writeHead(200, { 'Metadata-Flavor': 'Google', 'content-type': 'text/plain' })
        .end(ID_TOKEN);
      return;
    }
    if (req.url === '/computeMetadata/v1/project/project-id') {
      // google-auth-library asks for the project first, as on a real Cloud Run instance.
      res
        .writeHead(200, { 'Metadata-Flavor': 'Google', 'content-type': 'text/plain' })
        .end('demo-project');
      return;
    }
    res.writeHead(404, { 'Metadata-Flavor': 'Google' }).end('not here');
  });
  backend = createServer((req, res) => {
    backendRequests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    // The image was deleted: the processor has nothing to do and exits 0.
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no image', requestId: 'r1' } }));
  });
  metadataHost = `127.0.0.1:${await listen(metadata)}`;
  backendUrl = `http://127.0.0.1:${await listen(backend)}`;
});

afterAll(async () => {
  await Promise.all([close(metadata), close(backend)]);
});

describe('CALLBACK_AUTH=google', () => {
  it('fetches an ID token for the configured audience and sends it as the bearer credential', async () => {
    const env = processorEnv(
      { url: backendUrl, storeRoot: '/nonexistent', callbackSecret: '' },
      'img_aaaaaaaaaaaaaaaaaaaaaaaaaa',
      {
        CALLBACK_AUTH: 'google',
        CALLBACK_SECRET: '',
        CALLBACK_AUDIENCE: 'https://backend.example.run.app',
      },
    );
    const result = await spawnProcessor({
      ...env,
      GCE_METADATA_HOST: metadataHost,
      // Otherwise google-auth-library asks a locally installed gcloud for the project (seconds).
      GOOGLE_CLOUD_PROJECT: 'demo-project',
      // Set after the helper's default of `none`: the metadata server is "present" here.
      METADATA_SERVER_DETECTION: 'assume-present',
    }).done;
    expect(result.code, result.stderr).toBe(0);
    expect(backendRequests).toEqual([
      {
        url: '/api/processing/img_aaaaaaaaaaaaaaaaaaaaaaaaaa',
        authorization: `Bearer ${ID_TOKEN}`,
      },
    ]);
    const identity = metadataRequests.find((u) => u.includes('/identity'));
    expect(new URL(identity ?? '', 'http://x').searchParams.get('audience')).toBe(
      'https://backend.example.run.app',
    );
    // The token is a credential: it never appears in the logs.
    expect(result.stderr).not.toContain(payload);
  });
});
