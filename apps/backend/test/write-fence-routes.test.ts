/**
 * The single-writer fence over HTTP (app.ts, writer/gate.ts): while this
 * instance does not hold the database lease, every route that can change
 * state — enumerated from the app's routes table, so a new write route (the
 * media library's edits, bulk actions, slideshow order, queue pause/resume,
 * upload cancel, upload sessions) is covered by default — answers 503
 * LEASE_NOT_HELD with Retry-After before its handler runs: no row, no object,
 * no queue changes. And no route is shadowed by another of the same shape.
 */
import { createDryRunQueueAdmin } from '@slideshow/dispatch/queue-admin/dry-run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGate } from '../src/writer/gate.ts';
import { admin, expectJson, makeApp, type TestApp, uploadPng } from './helpers.ts';
import {
  expectRefused,
  type Route,
  routesUnder,
  snapshotDatabase,
  storeKeys,
} from './hostile-callers-checks.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

describe('the write fence over every state-changing route', () => {
  let t: TestApp;
  let held = true;
  let id: string;
  let routes: Route[];
  const queueAdmin = createDryRunQueueAdmin();

  beforeAll(async () => {
    const gate = createGate({ leaseHeld: () => held, detail: 'full' });
    gate.openWrites();
    gate.serve(() => new Response(null, { status: 204 }));
    t = await makeApp({ writeFence: gate, queueAdmin });
    id = await uploadPng(t, 1);
    routes = routesUnder(t, ['/']).filter((r) => !SAFE.has(r.method));
  });
  afterAll(() => t.cleanup());

  it('finds the console write routes in the routes table', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'POST /api/admin/images/lookup',
        'PATCH /api/admin/images/:id',
        'POST /api/admin/images/bulk',
        'PUT /api/admin/slideshow/order',
        'POST /api/admin/queues/:queue/pause',
        'POST /api/admin/queues/:queue/resume',
        'DELETE /api/admin/uploads/:uploadId',
        'DELETE /api/admin/images/:id',
        'POST /api/admin/upload-sessions',
        'POST /api/admin/upload-sessions/:id/complete',
        'DELETE /api/admin/upload-sessions/:id',
      ]),
    );
  });

  it('gives every route a path no other route of the same method takes (the first would shadow it)', () => {
    // `DELETE /uploads/:uploadId` (cancel a tracked upload) once shadowed `DELETE /uploads/:id`
    // (cancel a session): a session cancel reached the tracker and left the session open.
    // A route's middleware and handler are separate entries with the same path: compare the
    // distinct paths, with their parameter names erased.
    const distinct = new Set(
      t.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`),
    );
    const shapes = [...distinct].map((route) => route.replace(/:[A-Za-z]+/g, ':'));
    const repeated = shapes.filter((shape, i) => shapes.indexOf(shape) !== i);
    expect(repeated).toEqual([]);
  });

  it('refuses each with 503 LEASE_NOT_HELD and Retry-After while the lease is not held, changing nothing', async () => {
    held = false;
    try {
      const db = snapshotDatabase(t);
      const keys = await storeKeys(t);
      for (const route of routes) {
        const path = route.path
          .replace(':id', id)
          .replace(':queue', 'uploads')
          .replace(':uploadId', 'u'.repeat(16));
        const what = `${route.method} ${route.path}`;
        const response = await t.app.request(path, {
          method: route.method,
          headers: admin({ 'Content-Type': 'application/json' }),
          body: route.method === 'DELETE' ? undefined : JSON.stringify({ ids: [id] }),
        });
        expect(response.headers.get('retry-after'), what).toBe('2');
        await expectRefused(response, 503, 'LEASE_NOT_HELD', what);
      }
      expect(snapshotDatabase(t)).toBe(db);
      expect(await storeKeys(t)).toEqual(keys);
      expect((await queueAdmin.describe('uploads')).state).toBe('RUNNING');
    } finally {
      held = true;
    }
  });

  it('admits the same writes again once the lease is held', async () => {
    const described = await t.app.request(`/api/admin/images/${id}`, {
      method: 'PATCH',
      headers: admin({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ altText: 'A test pattern' }),
    });
    expect((await expectJson<{ image: { altText: string } }>(described, 200)).image.altText).toBe(
      'A test pattern',
    );
    await expectJson(
      await t.app.request('/api/admin/queues/uploads/pause', { method: 'POST', headers: admin() }),
      200,
    );
    expect((await queueAdmin.describe('uploads')).state).toBe('PAUSED');
  });
});
