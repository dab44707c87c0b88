import { crc32, deflateSync } from 'node:zlib';
import { startTestBackend, type TestBackend } from '@slideshow/backend/testing';
import type { FailedTasksAnswer } from '@slideshow/contracts';
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
      // The processor's verdict for an original gone from the store: a retry fails the same way.
      ['gone', 'NOT_FOUND', 'processor'],
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
      'failed tasks: 4 listed, 2 skipped as permanent (image errors: 1, --include-permanent takes them; ' +
        'originals missing (NOT_FOUND): 1, restore them, then --code NOT_FOUND; --include-missing-originals takes them), 2 selected',
    );
    expect(dry.stdout).not.toContain(ids.gone);
    // --include-permanent takes the image error, not a missing original; scripts/rollback adds
    // --include-missing-originals (a bad release can fail good images NOT_FOUND) and takes both.
    const images = await runScript('requeue-failed', ['--dry-run', '--include-permanent'], env);
    expect(images.stdout).toContain(`would requeue ${ids.corrupt}`);
    expect(images.stdout).not.toContain(ids.gone);
    const rollback = await runScript(
      'requeue-failed',
      ['--dry-run', '--include-permanent', '--include-missing-originals'],
      env,
    );
    expect(rollback.stdout).toContain(`would requeue ${ids.corrupt}`);
    expect(rollback.stdout).toContain(`would requeue ${ids.gone}`);

    const result = await runScript('requeue-failed', [], env);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('requeued: 2, failed: 0');
    for (const name of ['timeout', 'storage']) {
      const image = await backend.image(ids[name] ?? '');
      expect(image.status, name).not.toBe('failed');
      expect(image.generation, name).toBeGreaterThan(0);
    }
    expect((await backend.image(ids.corrupt ?? '')).status).toBe('failed');
    expect((await backend.image(ids.gone ?? '')).status).toBe('failed');

    // Nothing unresolved is left but the permanent errors.
    const again = await runScript('requeue-failed', ['--dry-run'], env);
    expect(again.stdout).toContain('failed tasks: 2 listed, 2 skipped as permanent');

    // Once the original is restored, asking for its code re-queues it.
    const restored = await runScript('requeue-failed', ['--code', 'NOT_FOUND'], env);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('requeued: 1, failed: 0');
    expect((await backend.image(ids.gone ?? '')).status).not.toBe('failed');
  });

  it('marks each listed row permanent by the same rule: an image error, a missing original, or null', async () => {
    const response = await fetch(`${backend.url}/api/admin/failed-tasks`, {
      headers: { authorization: `Bearer ${backend.adminToken}` },
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const rows = (JSON.parse(text) as FailedTasksAnswer).failedTasks;
    const permanent = Object.fromEntries(rows.map((r) => [r.imageId, r.permanent]));
    expect(permanent, text).toEqual({
      [ids.timeout ?? '']: null,
      [ids.storage ?? '']: null,
      [ids.corrupt ?? '']: 'image',
      [ids.gone ?? '']: 'original-missing',
    });
  });
});
