import { describe, expect, it } from 'vitest';
import { CallbackAnswer, ErrorAnswer, QueuesAnswer, StatusAnswer, UploadAnswer } from './index.ts';

describe('backend answers', () => {
  it("takes an upload's accepted and refused files, and refuses a renamed field", () => {
    const accepted = { id: 'img_a', status: 'uploaded', duplicate: false, originalName: 'a.png' };
    const refused = { originalName: 'b.txt', error: { code: 'UNSUPPORTED_FORMAT', message: 'x' } };
    expect(UploadAnswer.safeParse({ images: [accepted, refused] }).success).toBe(true);
    const { duplicate, ...renamed } = accepted;
    expect(UploadAnswer.safeParse({ images: [{ ...renamed, dup: duplicate }] }).success).toBe(
      false,
    );
    expect(UploadAnswer.safeParse({ images: [{ ...accepted, status: 'done' }] }).success).toBe(
      false,
    );
  });

  it('requires the reason of a callback that was not applied', () => {
    expect(CallbackAnswer.safeParse({ applied: true }).success).toBe(true);
    expect(CallbackAnswer.safeParse({ applied: false, reason: 'duplicate' }).success).toBe(true);
    expect(CallbackAnswer.safeParse({ applied: false }).success).toBe(false);
  });

  it('takes only codes of the closed list in the error envelope', () => {
    const error = { code: 'NOT_FOUND', message: 'no such image', requestId: 'r1' };
    expect(ErrorAnswer.safeParse({ error }).success).toBe(true);
    expect(ErrorAnswer.safeParse({ error: { ...error, code: 'OOPS' } }).success).toBe(false);
    expect(ErrorAnswer.safeParse({ error: { ...error, requestId: undefined } }).success).toBe(
      false,
    );
  });

  it('requires a count for every image status on /status', () => {
    const status = {
      counts: { uploaded: 1, queued: 0, processing: 0, processed: 0, failed: 1 },
      outbox: { pending: 2, oldestAgeSeconds: 90 },
      oldestWaitingAgeSeconds: null,
      failuresLastHour: 1,
      regeneration: null,
    };
    expect(StatusAnswer.safeParse(status).success).toBe(true);
    const { failed: _, ...partial } = status.counts;
    expect(StatusAnswer.safeParse({ ...status, counts: partial }).success).toBe(false);
  });

  it('takes a queue the backend could not describe beside one it could', () => {
    const outbox = { pending: 0, oldestAgeSeconds: null };
    const queue = {
      queue: 'uploads',
      name: 'projects/p/locations/l/queues/image-uploads',
      state: 'RUNNING',
      tasksCount: 0,
      concurrentDispatchesCount: null,
      executedLastMinuteCount: null,
      oldestEstimatedArrivalTime: null,
    };
    const error = { queue: 'ingest', error: { code: 'DISPATCH_FAILED', message: 'x' } };
    expect(QueuesAnswer.safeParse({ outbox, queues: [queue, error] }).success).toBe(true);
    expect(QueuesAnswer.safeParse({ outbox, queues: [{ queue: 'ingest' }] }).success).toBe(false);
  });
});
