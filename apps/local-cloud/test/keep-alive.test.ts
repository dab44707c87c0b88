/**
 * local-cloud keeps idle connections as Google's API front ends do (610 s), so
 * a client library's pooled socket, reused after seconds of quiet, is never
 * met by a close Google would not send (EPIPE/ECONNRESET on the reuse).
 */
import { probeKeepAlive } from '@slideshow/tools/keep-alive-probe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { PARENT, removeDir, startCloud, tempDir } from './helpers.ts';

describe('idle connections', () => {
  let dir: string;
  let cloud: RunningLocalCloud;

  beforeAll(async () => {
    dir = tempDir();
    cloud = await startCloud(dir);
  });
  afterAll(async () => {
    await cloud?.stop();
    removeDir(dir);
  });

  it('keeps an idle connection open past the 6 s of a Node server and answers on it', async () => {
    const probe = await probeKeepAlive(cloud.url, `/v2/${PARENT}/queues`, 6_500, {
      authorization: `Bearer ${cloud.oauthToken}`,
    });
    expect(probe).toEqual({ keepAliveHeader: 'timeout=610', second: 'HTTP/1.1 200 OK' });
  }, 20_000);
});
