/**
 * Cloud Tasks v2beta3 `queues.get` with `readMask` stats, which the backend's
 * queue admin reads for the jobs page (v2 has no stats), behind the same
 * request guard as every other local-cloud route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir } from './helpers.ts';

let dir: string;
let cloud: RunningLocalCloud;

beforeAll(async () => {
  dir = tempDir();
  cloud = await startCloud(dir);
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

describe('Cloud Tasks v2beta3 queues.get with stats', () => {
  it('counts the waiting tasks of a paused queue only when readMask names stats', async () => {
    const name = `${PARENT}/queues/stats-q`;
    expect((await api(cloud, 'POST', `/v2/${PARENT}/queues`, { name })).status).toBe(200);
    expect((await api(cloud, 'POST', `/v2/${name}:pause`)).body.state).toBe('PAUSED');
    // A day ahead, whole seconds: within Cloud Tasks' 30-day limit on scheduleTime.
    const scheduleTime = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000).toISOString();
    for (const id of ['a', 'b']) {
      const created = await api(cloud, 'POST', `/v2/${name}/tasks`, {
        task: {
          name: `${name}/tasks/${id}`,
          scheduleTime,
          httpRequest: { url: 'http://127.0.0.1:9/never', httpMethod: 'POST' },
        },
      });
      expect(created, JSON.stringify(created)).toMatchObject({ status: 200 });
    }

    const masked = await api(cloud, 'GET', `/v2beta3/${name}?readMask=name,state,stats`);
    expect(masked, JSON.stringify(masked)).toMatchObject({
      status: 200,
      body: {
        name,
        state: 'PAUSED',
        stats: {
          tasksCount: '2',
          concurrentDispatchesCount: '0',
          oldestEstimatedArrivalTime: scheduleTime,
        },
      },
    });
    expect(Object.keys(masked.body).sort()).toEqual(['name', 'state', 'stats']);

    const unmasked = await api(cloud, 'GET', `/v2beta3/${name}`);
    expect(unmasked.body.stats).toBeUndefined();
    expect(unmasked.body.rateLimits).toBeDefined();
    // v2 has no stats at all.
    expect((await api(cloud, 'GET', `/v2/${name}?readMask=stats`)).body.stats).toBeUndefined();
  });

  it('answers only callers with the token and no web page, like every other route', async () => {
    const path = `/v2beta3/${PARENT}/queues/stats-q?readMask=stats`;
    const anonymous = await api({ url: cloud.url }, 'GET', path);
    expect(anonymous, JSON.stringify(anonymous)).toMatchObject({
      status: 401,
      body: { error: { status: 'UNAUTHENTICATED' } },
    });
    const wrong = await api({ url: cloud.url }, 'GET', path, undefined, {
      authorization: 'Bearer not-the-token',
    });
    expect(wrong.status).toBe(401);
    const page = await api(cloud, 'GET', path, undefined, { origin: 'https://example.com' });
    expect(page, JSON.stringify(page)).toMatchObject({
      status: 403,
      body: { error: { status: 'PERMISSION_DENIED' } },
    });
    expect((await api(cloud, 'GET', path)).status).toBe(200);
  });

  it('answers NOT_FOUND for a queue that does not exist', async () => {
    const res = await api(cloud, 'GET', `/v2beta3/${PARENT}/queues/missing?readMask=stats`);
    expect(res.status).toBe(404);
  });
});
