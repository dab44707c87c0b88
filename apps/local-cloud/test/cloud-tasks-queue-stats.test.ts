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
    const scheduleTime = '2030-01-01T00:00:00.000Z';
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

  it('answers NOT_FOUND for a queue that does not exist', async () => {
    const res = await api(cloud, 'GET', `/v2beta3/${PARENT}/queues/missing?readMask=stats`);
    expect(res.status).toBe(404);
  });
});
