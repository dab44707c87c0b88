import { afterEach, describe, expect, it } from 'vitest';
import { parseIsoTime } from '../src/iso-time.ts';
import { parseFailedTask } from '../src/requeue/admin-client.ts';
import { createProgress } from '../src/requeue/progress.ts';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import { closedPort } from './helpers/closed-port.ts';
import { runScript } from './helpers/gcloud-double.ts';

function rows() {
  return [
    failedTask('img-a', 'TIMEOUT', '2026-11-20T10:00:00.000Z'),
    failedTask('img-b', 'JOB_FAILED', '2026-11-21T10:00:00.000Z'),
    failedTask('img-c', 'CORRUPT_IMAGE', '2026-11-21T11:00:00.000Z'),
    failedTask('img-d', 'STORAGE_UNAVAILABLE', '2026-11-22T09:30:00.000Z'),
  ];
}

describe('scripts/requeue-failed against a loopback admin API', () => {
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const env = (s: AdminServer, token = s.token) => ({ BACKEND_URL: s.url, ADMIN_TOKEN: token });

  it('re-queues every retryable failure since a time, skips permanent image errors and summarises', async () => {
    server = await startAdminServer(rows());
    const result = await runScript(
      'requeue-failed',
      ['--since', '2026-11-21T00:00:00Z'],
      env(server),
    );
    expect(result.status, result.stderr).toBe(0);
    expect(server.requests[0]).toEqual({
      method: 'GET',
      url: '/api/admin/failed-tasks?unresolved=true&limit=10000&since=2026-11-21T00%3A00%3A00.000Z',
      authorization: `Bearer ${server.token}`,
    });
    const retried = server.requests
      .filter((r) => r.method === 'POST')
      .map((r) => r.url)
      .sort();
    expect(retried).toEqual(['/api/admin/images/img-b/retry', '/api/admin/images/img-d/retry']);
    expect(result.stdout).toBe(
      'failed tasks: 3 listed, 1 skipped as permanent (image errors: 1, --include-permanent takes them), 2 selected (JOB_FAILED=1 STORAGE_UNAVAILABLE=1)\nrequeued: 2, failed: 0\n',
    );
    expect(result.stderr).toBe('requeue: 1/2\nrequeue: 2/2\n');
  });

  it('filters by error code and then includes permanent codes because they were asked for', async () => {
    server = await startAdminServer(rows());
    const result = await runScript('requeue-failed', ['--code', 'CORRUPT_IMAGE'], env(server));
    expect(result.status, result.stderr).toBe(0);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/admin/failed-tasks?unresolved=true&limit=10000&code=CORRUPT_IMAGE',
      'POST /api/admin/images/img-c/retry',
    ]);
  });

  it('lists what it would re-queue on a dry run and sends no retry', async () => {
    server = await startAdminServer(rows());
    const result = await runScript('requeue-failed', ['--dry-run'], env(server));
    expect(result.status, result.stderr).toBe(0);
    expect(server.requests.map((r) => r.method)).toEqual(['GET']);
    expect(result.stdout).toContain('would requeue img-a  TIMEOUT  2026-11-20T10:00:00.000Z');
    expect(result.stdout).toContain('dry run: nothing was re-queued');
    expect(result.stdout).not.toContain('img-c');
  });

  it('exits non-zero and names each image it could not re-queue', async () => {
    server = await startAdminServer(rows());
    server.retryStatus.set('img-b', 409);
    const result = await runScript('requeue-failed', [], env(server));
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('requeued: 2, failed: 1');
    expect(result.stdout).toContain('failed to requeue img-b: CONFLICT');
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('requeue: 3/3 (1 failed)');
  });

  it('leaves a row the backend lists as not retryable (a failed regeneration) alone, and says so', async () => {
    server = await startAdminServer([
      ...rows(),
      { ...failedTask('img-regen', 'JOB_FAILED', '2026-11-22T10:00:00.000Z'), retryable: false },
    ]);
    const result = await runScript('requeue-failed', ['--include-permanent'], env(server));
    expect(result.status, result.stderr).toBe(0);
    const retried = server.requests.filter((r) => r.method === 'POST').map((r) => r.url);
    expect(retried).toHaveLength(4);
    expect(retried).not.toContain('/api/admin/images/img-regen/retry');
    expect(result.stdout).toContain(
      '1 not retryable, left alone (failed regenerations: their images keep serving their old variants; run the regeneration again to take them)',
    );
    expect(result.stdout).toContain('requeued: 4, failed: 0');
  });

  it('asks for the backend cap and says when the listing came back full', async () => {
    const many = Array.from({ length: 10_001 }, (_, i) =>
      failedTask(`img-${i}`, 'TIMEOUT', '2026-11-22T10:00:00.000Z'),
    );
    server = await startAdminServer(many);
    const result = await runScript('requeue-failed', ['--dry-run'], env(server));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('failed tasks: 10000 listed');
    expect(result.stdout).toContain(
      'the listing stopped at its cap of 10000 rows (newest first), those left alone included: older failures were not seen',
    );
  });

  it('says the listing was cut at 500 by a backend that does not know limit (a rolled-back one)', async () => {
    const many = Array.from({ length: 600 }, (_, i) =>
      failedTask(`img-${i}`, 'TIMEOUT', '2026-11-22T10:00:00.000Z'),
    );
    server = await startAdminServer(many);
    server.legacy.ignoresLimit = true;
    const result = await runScript('requeue-failed', ['--dry-run'], env(server));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('failed tasks: 500 listed');
    expect(result.stdout).toContain('the listing stopped at its cap of 500 rows');
  });

  it('reports a rejected admin token as an error without retrying', async () => {
    server = await startAdminServer(rows());
    const result = await runScript('requeue-failed', [], env(server, 'wrong'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error: UNAUTHENTICATED: GET /api/admin/failed-tasks');
    expect(server.requests).toHaveLength(1);
  });

  it('prints its usage on --help without needing the backend', async () => {
    const result = await runScript('requeue-failed', ['--help'], {});
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: scripts\/requeue-failed /);
  });

  it('explains on --help what it skips by default, which flag takes each, every option and its exit statuses', async () => {
    const { stdout } = await runScript('requeue-failed', ['--help'], {});
    expect(stdout).toContain('By default it skips the permanent failures');
    expect(stdout).toContain('image errors (EMPTY_FILE, FILE_TOO_LARGE,');
    expect(stdout).toContain('CORRUPT_IMAGE): --include-permanent takes them');
    expect(stdout).toContain(
      'a missing original (NOT_FOUND): --code NOT_FOUND takes it once the original is restored',
    );
    for (const option of [
      '--since',
      '--code',
      '--include-permanent',
      '--include-missing-originals',
      '--concurrency',
      '--dry-run',
    ]) {
      expect(stdout, option).toContain(`\n  ${option}: `);
    }
    expect(stdout).toContain('exit status: 0 when every selected image was re-queued');
    expect(stdout).toContain('2 on bad usage');
  });

  it('refuses a --since that is not ISO 8601 with an offset, with usage, before calling the backend', async () => {
    server = await startAdminServer(rows());
    // Date.parse takes each of these: 2001-05-01, 2026-03-02, the machine's local time.
    for (const since of ['yesterday', '5', '2026-02-30T00:00:00Z', '2026-11-22T10:00:00']) {
      const result = await runScript('requeue-failed', ['--since', since], env(server));
      expect(result.status, since).toBe(2);
      expect(result.stderr).toContain(
        `Expected an ISO 8601 time with an offset for --since, like 2026-11-22T10:00:00Z or 2026-11-22T11:00:00+01:00, but received "${since}"`,
      );
    }
    expect(server.requests).toEqual([]);
  });

  it('refuses a --code that is no error code, listing the codes, before calling the backend', async () => {
    server = await startAdminServer(rows());
    for (const code of ['NOPE', 'corrupt_image', '']) {
      const result = await runScript('requeue-failed', ['--code', code, '--dry-run'], env(server));
      expect(result.status, code).toBe(2);
      expect(result.stderr).toContain(
        `error: Expected an error code for --code but received "${code}"; the codes are EMPTY_FILE, FILE_TOO_LARGE,`,
      );
      expect(result.stderr).toContain('STORAGE_UNAVAILABLE');
    }
    expect(server.requests).toEqual([]);
  });

  it('says which backend it could not reach and why (the cause, not just "fetch failed")', async () => {
    const port = await closedPort();
    const result = await runScript('requeue-failed', ['--dry-run'], {
      BACKEND_URL: `http://127.0.0.1:${port}`,
      ADMIN_TOKEN: 't',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `error: BACKEND_UNAVAILABLE: GET http://127.0.0.1:${port}/api/admin/failed-tasks?unresolved=true&limit=10000: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    // Said at the first failure, not only after the retries' deadline.
    expect(result.stderr).toMatch(/ECONNREFUSED[^\n]*; retrying for up to 30 s\n/);
  });

  it('with --check only validates: exit 0 and no call, or 2 on bad usage', async () => {
    server = await startAdminServer(rows());
    const ok = await runScript(
      'requeue-failed',
      ['--check', '--since', '2026-11-22T10:00:00Z'],
      env(server),
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).toBe('');
    const bad = await runScript('requeue-failed', ['--check'], {
      BACKEND_URL: 'notaurl',
      ADMIN_TOKEN: 't',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Expected an http(s) URL for BACKEND_URL but received "notaurl"');
    expect(server.requests).toEqual([]);
  });
});

describe('reading a time option', () => {
  it('takes Z and offsets, with or without seconds and fractions, and answers UTC', () => {
    expect(parseIsoTime('--since', '2026-11-22T10:00:00Z')).toBe('2026-11-22T10:00:00.000Z');
    expect(parseIsoTime('--since', '2026-11-22T11:30+01:30')).toBe('2026-11-22T10:00:00.000Z');
    expect(parseIsoTime('--since', '2024-02-29T23:59:59.5-02:00')).toBe('2024-03-01T01:59:59.500Z');
  });

  it('refuses dates that do not exist, times out of range and missing parts', () => {
    for (const text of [
      '2025-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-11-22T24:00:00Z',
      '2026-11-22T10:60:00Z',
      '2026-11-22T10:00:00+25:00',
      '2026-11-22',
      '2026-11-22 10:00:00Z',
      '',
    ]) {
      expect(() => parseIsoTime('--from', text), text).toThrow(
        `for --from, like 2026-11-22T10:00:00Z or 2026-11-22T11:00:00+01:00, but received "${text}"`,
      );
    }
  });
});

describe('the requeue progress reporter', () => {
  function sink(isTTY: boolean) {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns: 60, write: (c: string) => chunks.push(c) } };
  }

  it('redraws one bar in place on a terminal', () => {
    const { chunks, stream } = sink(true);
    const progress = createProgress({ total: 4, stream });
    progress.tick(true);
    progress.tick(false);
    progress.done();
    expect(chunks[0]).toBe('\rrequeue [#####---------------]  25% 1/4');
    expect(chunks.at(-2)).toBe('\rrequeue [##########----------]  50% 2/4 (1 failed)');
    expect(chunks.at(-1)).toBe('\n');
  });

  it('prints about ten plain lines for a large batch when not on a terminal', () => {
    const { chunks, stream } = sink(false);
    const progress = createProgress({ total: 1000, stream });
    for (let i = 0; i < 1000; i++) progress.tick(true);
    progress.done();
    expect(chunks).toHaveLength(10);
    expect(chunks[0]).toBe('requeue: 100/1000\n');
    expect(chunks.at(-1)).toBe('requeue: 1000/1000\n');
  });
});

describe('reading a failed-tasks row', () => {
  const row = {
    imageId: 'a',
    errorCode: 'TIMEOUT',
    errorMessage: 'timed out',
    attemptCount: 2,
    lastAttempt: '2026-11-22T10:00:00.000Z',
    execution: null,
    source: 'workflow',
    createdAt: '2026-11-22T09:00:00.000Z',
    resolvedAt: null,
  };

  it("reads the contract's row, leaves out the image it names, and takes a row without retryable as retryable", () => {
    const image = { originalName: 'a.png', title: 'a', status: 'failed', format: null };
    expect(parseFailedTask({ ...row, retryable: false, image })).toEqual({
      ...row,
      retryable: false,
    });
    expect(parseFailedTask(row)).toEqual({ ...row, retryable: true });
  });

  it('refuses a row without an image id instead of re-queueing "undefined"', () => {
    const { imageId: _, ...noId } = row;
    expect(() => parseFailedTask(noId)).toThrow(
      /^a failed-tasks row does not match the admin API's contract \(imageId: Invalid input: expected string, received undefined\): \{"errorCode":"TIMEOUT"/,
    );
  });

  it('refuses a row that breaks the contract elsewhere (an attempt count that is no number, an unknown source), naming each field', () => {
    expect(() => parseFailedTask({ ...row, attemptCount: 'many', source: 'cron' })).toThrow(
      /\(attemptCount: Invalid input: expected number, received string; source: Invalid option: expected one of "processor"\|"workflow"\|"reaper"\|"dispatch"\|"regenerate"\)/,
    );
  });
});
