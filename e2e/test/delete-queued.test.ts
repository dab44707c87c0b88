/**
 * Deleting an image whose task waits in a paused queue, end to end: the
 * backend (its real `@google-cloud/tasks` client) removes the task from
 * local-cloud's queue, so the jobs page counts no task, and once the queue
 * runs again no workflow execution and no processor run happens for the
 * deleted image — only for an image uploaded after it, which goes through.
 * (Before, the task stayed and started an execution and a job that ended
 * "image no longer exists; nothing to do".)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStack, openDb, smallPng, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

/** A backend admin call, its answer parsed; throws with the whole answer unless `status`. */
async function adminCall<T>(stack: Stack, method: string, path: string, status = 200): Promise<T> {
  const response = await stack.admin(path, { method });
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  }
  return JSON.parse(text) as T;
}

/** The uploads queue as the jobs page shows it. */
async function uploadsQueue(stack: Stack) {
  const body = await adminCall<{
    queues: { queue: string; state?: string; tasksCount?: number | null }[];
  }>(stack, 'GET', '/api/admin/queues');
  return body.queues.find((q) => q.queue === 'uploads');
}

/** Waits (bounded) until the image's row is `queued`: its task exists in local-cloud. */
async function waitForQueued(stack: Stack, id: string): Promise<string> {
  const db = openDb(stack);
  try {
    const select = db.prepare<[string], { status: string; dispatch_key: string | null }>(
      'SELECT status, dispatch_key FROM images WHERE id = ?',
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const row = select.get(id);
      if (row?.status === 'queued' && row.dispatch_key) return row.dispatch_key;
      if (Date.now() > deadline)
        throw new Error(`image ${id} never queued: ${JSON.stringify(row)}`);
      await sleep(100);
    }
  } finally {
    db.close();
  }
}

describe('deleting an image whose task waits in a paused queue', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await freshStack();
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('removes its task: the queue counts none, and once resumed nothing runs for it', async () => {
    expect(
      (
        await adminCall<{ queue: { state: string } }>(
          stack,
          'POST',
          '/api/admin/queues/uploads/pause',
        )
      ).queue.state,
    ).toBe('PAUSED');
    const [deleted] = await upload(stack, [{ name: 'deleted.png', bytes: await smallPng(1) }]);
    const deletedKey = await waitForQueued(stack, deleted as string);
    expect(await uploadsQueue(stack)).toMatchObject({ state: 'PAUSED', tasksCount: 1 });

    await adminCall(stack, 'DELETE', `/api/admin/images/${deleted}`);
    expect(await uploadsQueue(stack)).toMatchObject({ state: 'PAUSED', tasksCount: 0 });

    // An image queued after it, in the same queue, shows the queue ran past where its task was.
    const [kept] = await upload(stack, [{ name: 'kept.png', bytes: await smallPng(2) }]);
    const keptKey = await waitForQueued(stack, kept as string);
    await adminCall(stack, 'POST', '/api/admin/queues/uploads/resume');
    const [row] = await waitForTerminal(stack, [kept as string], 120_000);
    expect(row?.status).toBe('processed');

    const executions = (await (
      await stack.localCloud(`/v1/${stack.parent}/workflows/process-image/executions?view=FULL`)
    ).json()) as { executions?: { labels?: Record<string, string> }[] };
    expect((executions.executions ?? []).map((e) => e.labels?.dispatch_key)).toEqual([keptKey]);
    expect(deletedKey).not.toBe(keptKey);
    const runs = (await (
      await stack.localCloud(`/v2/${stack.parent}/jobs/processor/executions`)
    ).json()) as { executions?: unknown[] };
    expect(runs.executions ?? []).toHaveLength(1);
    expect(await uploadsQueue(stack)).toMatchObject({ state: 'RUNNING', tasksCount: 0 });
  }, 180_000);
});
