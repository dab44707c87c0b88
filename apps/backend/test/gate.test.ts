/**
 * The single-writer gate's own answers (src/writer/gate.ts) have the app's
 * shape: while the instance starts, every path's 503 NOT_READY is an
 * `ErrorAnswer` with a request id, sent with `X-Request-Id`, `nosniff` and
 * `Retry-After`; `/readyz` takes GET and HEAD only (405 with `Allow`
 * otherwise), before and after the app is served. In local mode the app's
 * Host rule (src/auth/host-guard.ts) comes before all of them, so a
 * DNS-rebound page cannot read the lease's owner from `/readyz`; production
 * answers any Host (Cloud Run's startup probe) and tells it only the phase.
 */
import { ErrorAnswer, NotReadyAnswer, ReadyAnswer } from '@slideshow/contracts';
import { describe, expect, it } from 'vitest';
import { createGate } from '../src/writer/gate.ts';
import { createWriterGate } from '../src/writer/single-writer.ts';
import { expectAnswer, expectJson } from './helpers.ts';

const URL_BASE = 'http://127.0.0.1:8080';

/** Sends `method path` to the gate. */
async function send(
  gate: ReturnType<typeof createGate>,
  method: string,
  path: string,
  headers: Record<string, string> = {},
) {
  return gate.fetch(new Request(`${URL_BASE}${path}`, { method, headers }));
}

describe('the starting gate', () => {
  it('adds its own headers (HSTS in production) to every answer it makes, never to the app answers', async () => {
    const hsts = { 'strict-transport-security': 'max-age=63072000' };
    const gate = createGate({ leaseHeld: () => true, detail: 'full', headers: hsts });
    gate.setPhase('starting', 'waiting for the database lease');
    for (const path of ['/api/admin/images', '/readyz']) {
      const response = await send(gate, 'GET', path);
      expect(response.status, path).toBe(503);
      expect(response.headers.get('strict-transport-security'), path).toBe(
        hsts['strict-transport-security'],
      );
    }
    gate.openWrites();
    gate.serve(() => new Response('app'));
    const ready = await send(gate, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.headers.get('strict-transport-security')).toBe(hsts['strict-transport-security']);
    // The app's answers are the app's: it sets its own headers (app.ts).
    const served = await send(gate, 'GET', '/');
    expect(served.headers.get('strict-transport-security')).toBeNull();
  });

  it('answers 503 NOT_READY as an ErrorAnswer with a request id and the app headers', async () => {
    const gate = createGate({ leaseHeld: () => false, detail: 'full' });
    gate.setPhase('starting', 'waiting for the database lease');
    const response = await send(gate, 'GET', '/api/admin/images');
    const body = await expectAnswer(ErrorAnswer, response, 503);
    expect(body.error).toMatchObject({
      code: 'NOT_READY',
      message: 'waiting for the database lease',
    });
    expect(response.headers.get('x-request-id')).toBe(body.error.requestId);
    expect(body.error.requestId).toMatch(/^[A-Za-z0-9_-]{12,}$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('retry-after')).toBe('2');
    // A caller's safe request id is kept, as the app keeps it.
    const named = await send(gate, 'POST', '/api/admin/upload', { 'X-Request-Id': 'probe-1' });
    expect((await expectAnswer(ErrorAnswer, named, 503)).error.requestId).toBe('probe-1');
    expect(named.headers.get('x-request-id')).toBe('probe-1');
  });

  it('answers /readyz 503 as an ErrorAnswer with the phase while not ready', async () => {
    const gate = createGate({ leaseHeld: () => false, detail: 'full' });
    gate.setPhase('starting', 'restoring the database', { epoch: 3 });
    const response = await send(gate, 'GET', '/readyz');
    const body = await expectAnswer(ErrorAnswer, response, 503);
    expect(body).toMatchObject({
      error: { code: 'NOT_READY', message: 'restoring the database' },
      phase: 'starting',
      epoch: 3,
    });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('takes only GET and HEAD on /readyz, starting or serving', async () => {
    let held = false;
    const gate = createGate({ leaseHeld: () => held, detail: 'full' });
    for (const serving of [false, true]) {
      if (serving) {
        held = true;
        gate.openWrites();
        gate.serve(() => new Response('app'));
      }
      for (const method of ['DELETE', 'POST', 'PUT']) {
        const response = await send(gate, method, '/readyz');
        const body = await expectAnswer(ErrorAnswer, response, 405);
        expect(body.error.code).toBe('METHOD_NOT_ALLOWED');
        expect(response.headers.get('allow')).toBe('GET, HEAD');
      }
    }
    expect(await expectJson(await send(gate, 'GET', '/readyz'), 200)).toMatchObject({
      ready: true,
      phase: 'serving',
    });
    expect((await send(gate, 'HEAD', '/readyz')).status).toBe(200);
  });
});

describe("the gate's answers and the local Host rule (DNS rebinding)", () => {
  const rebound = { host: 'rebind.example:8080', origin: 'http://rebind.example:8080' };
  const owner = 'admins-laptop/4242/Ab12Cd';

  it('refuses /readyz and the starting 503 to a rebound Host in local mode, telling nothing of the lease', async () => {
    let held = false;
    const gate = createWriterGate({ mode: 'local', publicUrl: undefined }, () => held);
    gate.setPhase('starting', 'restoring the database', { epoch: 3, owner });
    const refuses = async (paths: string[]) => {
      for (const path of paths) {
        const response = await send(gate, 'GET', path, rebound);
        const body = await expectAnswer(ErrorAnswer, response, 403);
        expect(body.error.code, path).toBe('FORBIDDEN');
        expect(body.error.message, path).toContain('"rebind.example:8080"');
        expect(JSON.stringify(body), path).not.toMatch(/admins-laptop|restoring|phase/);
      }
    };
    await refuses(['/readyz', '/api/admin/images']);
    held = true;
    gate.openWrites();
    // Serving, every other path is the app's, which applies the same rule itself (app.ts).
    gate.serve(() => new Response('app'), { epoch: 3, owner });
    await refuses(['/readyz']);
    // Addressed to the loopback, /readyz tells all, as the local stack's tools read it.
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080']) {
      const ready = await expectJson(await send(gate, 'GET', '/readyz', { host }), 200);
      expect(ready, host).toMatchObject({ ready: true, phase: 'serving', owner });
    }
  });

  it("answers /readyz to PUBLIC_URL's host locally, and to any Host in production (Cloud Run's probe)", async () => {
    const lan = createWriterGate(
      { mode: 'local', publicUrl: 'http://photos.lan:8080' },
      () => true,
    );
    const cloud = createWriterGate(
      { mode: 'production', publicUrl: 'https://slideshow.example.com' },
      () => true,
    );
    for (const gate of [lan, cloud]) {
      gate.openWrites();
      gate.serve(() => new Response('app'));
    }
    await expectJson(await send(lan, 'GET', '/readyz', { host: 'photos.lan:8080' }), 200);
    for (const host of ['backend-abc123-ew.a.run.app', '169.254.8.1:8080', 'rebind.example']) {
      await expectJson(await send(cloud, 'GET', '/readyz', { host }), 200);
    }
  });
});

describe('the gate in production (a public Cloud Run service)', () => {
  const owner = 'backend-7f9c-host/1/Ab12Cd';
  const successor = 'backend-8e2d-host/1/Zz98Yy';

  it("tells any caller only the phase: not the lease's owner, its epochs or a successor's name", async () => {
    let held = false;
    const gate = createWriterGate({ mode: 'production', publicUrl: undefined }, () => held);
    gate.setPhase('starting', 'restoring the database', { epoch: 3, owner });
    for (const path of ['/readyz', '/api/admin/images']) {
      const starting = await send(gate, 'GET', path, { host: 'anyone.example' });
      const body = await expectAnswer(NotReadyAnswer.strict(), starting, 503);
      expect(body.phase, path).toBe('starting');
      expect(body.error.message, path).toBe('this instance is not ready (starting)');
    }
    held = true;
    gate.openWrites();
    gate.serve(() => new Response('app'), { epoch: 3, owner, restoredEpoch: 2 });
    const ready = await send(gate, 'GET', '/readyz', { host: 'anyone.example' });
    expect(await expectAnswer(ReadyAnswer.strict(), ready, 200)).toEqual({
      ready: true,
      phase: 'serving',
    });
    gate.setPhase('handing-over', `handing the database lease over to ${successor}`);
    const leaving = await send(gate, 'GET', '/readyz');
    const text = await leaving.clone().text();
    expect(leaving.status, text).toBe(503);
    expect(text).not.toMatch(/backend-|epoch|owner|handing the/);
    expect((await expectAnswer(NotReadyAnswer.strict(), leaving, 503)).phase).toBe('handing-over');
  });
});
