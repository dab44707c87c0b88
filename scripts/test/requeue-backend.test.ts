import { crc32, deflateSync } from 'node:zlib';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript } from './helpers/gcloud-double.ts';

/** A valid 1×1 RGB PNG of the given colour (distinct bytes, so no duplicate detection). */
function tinyPng(r: number, g: number, b: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, r, g, b]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('scripts/requeue-failed against the real backend', () => {
  let backend: TestBackend;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    backend = await startTestBackend();
    const reports = [
      ['timeout', 'TIMEOUT', 'workflow'],
      ['storage', 'STORAGE_UNAVAILABLE', 'processor'],
      ['corrupt', 'CORRUPT_IMAGE', 'processor'],
    ] as const;
    for (const [i, [name, code, source]] of reports.entries()) {
      const { id } = await backend.upload(tinyPng(10 * i, 20, 30), `${name}.png`);
      ids[name] = id;
      const response = await fetch(`${backend.url}/api/processing/${id}/failed`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${backend.callbackSecret}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ generation: 0, code, message: `${code} in test`, source }),
      });
      expect(response.status, await response.text()).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await backend?.stop();
  });

  it('re-queues the retryable failures through the admin API and leaves permanent ones failed', async () => {
    const env = { BACKEND_URL: backend.url, ADMIN_TOKEN: backend.adminToken };
    const dry = await runScript('requeue-failed', ['--dry-run'], env);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'failed tasks: 3 listed, 1 skipped as permanent image errors, 2 selected',
    );

    const result = await runScript('requeue-failed', [], env);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('requeued: 2, failed: 0');
    for (const name of ['timeout', 'storage']) {
      const image = await backend.image(ids[name] ?? '');
      expect(image.status, name).not.toBe('failed');
      expect(image.generation, name).toBeGreaterThan(0);
    }
    expect((await backend.image(ids.corrupt ?? '')).status).toBe('failed');

    // Nothing unresolved is left but the permanent error.
    const again = await runScript('requeue-failed', ['--dry-run'], env);
    expect(again.stdout).toContain(
      'failed tasks: 1 listed, 1 skipped as permanent image errors, 0 selected',
    );
  });
});
