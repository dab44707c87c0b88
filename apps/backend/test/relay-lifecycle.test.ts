import { type DispatchRequest, type TaskDispatcher, taskNameFor } from '@slideshow/dispatch';
import { afterEach, describe, expect, it } from 'vitest';
import { admin, expectJson, makeApp, type TestApp, uploadPng } from './helpers.ts';

describe('outbox relay lifecycle and execution state', () => {
  let t: TestApp | undefined;
  afterEach(() => t?.cleanup());

  it('waits for an in-flight dispatch on stop and then commits it', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: DispatchRequest[] = [];
    const slow: TaskDispatcher = {
      async dispatch(request) {
        seen.push(request);
        await gate;
        return { taskName: 'slow', alreadyExisted: false };
      },
    };
    t = await makeApp({ dispatcher: slow, relay: { pollIntervalMs: 50 } });
    const id = await uploadPng(t, 1);
    const relay = t.relay;
    relay.start();
    for (let i = 0; i < 1500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toHaveLength(1);
    let stopped = false;
    const stopping = relay.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(t.repos.outbox.stats().pending).toBe(0);
    expect(t.repos.images.get(id)?.status).toBe('queued');
  });

  it('shows the workflow execution state in the image detail when the dispatcher knows it', async () => {
    const dispatcher: TaskDispatcher = {
      async dispatch() {
        return { taskName: 'x', alreadyExisted: false };
      },
      async executionState(key) {
        return {
          name: `projects/p/locations/l/workflows/process-image/executions/${key}`,
          state: 'ACTIVE',
        };
      },
    };
    t = await makeApp({ dispatcher });
    const id = await uploadPng(t, 2);
    await t.relay.drain();
    const detail = await expectJson(
      await t.app.request(`/api/images/${id}`, { headers: admin() }),
      200,
    );
    // Looked up by the key of the dispatch that carries the image's generation.
    expect(detail.executionState).toEqual({
      name: `projects/p/locations/l/workflows/process-image/executions/${taskNameFor(id, 0)}`,
      state: 'ACTIVE',
    });
  });

  it('still answers the image detail when the execution state cannot be read', async () => {
    const dispatcher: TaskDispatcher = {
      async dispatch() {
        return { taskName: 'x', alreadyExisted: false };
      },
      async executionState() {
        throw new Error('Executions API unreachable');
      },
    };
    t = await makeApp({ dispatcher });
    const id = await uploadPng(t, 3);
    await t.relay.drain();
    const detail = await expectJson(
      await t.app.request(`/api/images/${id}`, { headers: admin() }),
      200,
    );
    expect(detail).toMatchObject({ status: 'queued', executionState: null });
  });
});
