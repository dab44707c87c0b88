import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  api,
  PARENT,
  removeDir,
  startCloud,
  startTarget,
  type Target,
  tempDir,
  waitFor,
} from './helpers.ts';

const queue = `${PARENT}/queues/durable`;
let dir: string;
let target: Target;

beforeEach(async () => {
  dir = tempDir();
  target = await startTarget();
});
afterEach(async () => {
  await target.close();
  removeDir(dir);
});

function task(id: string) {
  return { task: { name: `${queue}/tasks/${id}`, httpRequest: { url: `${target.url}/${id}` } } };
}

describe('Cloud Tasks across a restart', () => {
  it('dispatches tasks queued before the process stopped once a new process starts', async () => {
    const first = await startCloud(dir);
    await api(first, 'POST', `/v2/${PARENT}/queues`, { name: queue });
    await api(first, 'POST', `/v2/${queue}:pause`);
    for (const id of ['a', 'b', 'c']) await api(first, 'POST', `/v2/${queue}/tasks`, task(id));
    await first.stop();
    const second = await startCloud(dir);
    try {
      expect((await api(second, 'GET', `/v2/${queue}/tasks`)).body.tasks).toHaveLength(3);
      expect((await api(second, 'POST', `/v2/${queue}/tasks`, task('a'))).status).toBe(409);
      await api(second, 'POST', `/v2/${queue}:resume`);
      await waitFor(() => target.received[2], 'three dispatches');
      expect(target.received.map((r) => r.url).sort()).toEqual(['/a', '/b', '/c']);
    } finally {
      await second.stop();
    }
  });

  it('sends a task again when the process stopped while it was in flight (at-least-once)', async () => {
    const first = await startCloud(dir);
    await api(first, 'POST', `/v2/${PARENT}/queues`, { name: queue });
    target.respond = () => new Promise(() => {});
    await api(first, 'POST', `/v2/${queue}/tasks`, task('inflight'));
    await waitFor(() => target.received[0], 'the first delivery');
    await first.stop();
    target.respond = () => 200;
    const second = await startCloud(dir);
    try {
      await waitFor(() => target.received[1], 'the second delivery');
      expect(target.received.map((r) => r.url)).toEqual(['/inflight', '/inflight']);
      await waitFor(
        async () =>
          (await api(second, 'GET', `/v2/${queue}/tasks/inflight`)).status === 404
            ? true
            : undefined,
        'the task to finish',
      );
    } finally {
      await second.stop();
    }
  });
});
