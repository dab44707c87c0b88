import { Writable } from 'node:stream';
import { createLogger } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { createDryRunDispatcher } from './dry-run.ts';
import {
  argumentBytes,
  assertArgumentSize,
  assertDispatchKey,
  batchTaskNameFor,
  MAX_ARGUMENT_BYTES,
  taskNameFor,
} from './task-dispatcher.ts';

describe('taskNameFor', () => {
  it('gives the same 32-hex-character name for the same image and generation', () => {
    expect(taskNameFor('img-1', 2)).toBe(taskNameFor('img-1', 2));
    expect(taskNameFor('img-1', 2)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives different names for different generations and images', () => {
    const names = new Set([
      taskNameFor('img-1', 0),
      taskNameFor('img-1', 1),
      taskNameFor('img-2', 0),
    ]);
    expect(names.size).toBe(3);
  });

  it('does not give sequential names to sequential images', () => {
    expect(taskNameFor('img-1', 0).slice(0, 4)).not.toBe(taskNameFor('img-2', 0).slice(0, 4));
  });

  it('refuses an empty image id and a negative generation', () => {
    expect(() => taskNameFor('', 0)).toThrow(
      'Expected a non-empty string for imageId but received  of type string',
    );
    expect(() => taskNameFor('a', -1)).toThrow(
      'Expected a non-negative integer for generation but received -1 of type number',
    );
  });
});

describe('batchTaskNameFor', () => {
  it('names a batch by its members whatever their order, and a new generation anew', () => {
    const a = { imageId: 'img-a', generation: 0 };
    const b = { imageId: 'img-b', generation: 3 };
    expect(batchTaskNameFor([a, b])).toBe(batchTaskNameFor([b, a]));
    expect(batchTaskNameFor([a, b])).toMatch(/^[0-9a-f]{32}$/);
    expect(batchTaskNameFor([a, { ...b, generation: 4 }])).not.toBe(batchTaskNameFor([a, b]));
    // A batch of one is not the image's own single dispatch.
    expect(batchTaskNameFor([a])).not.toBe(taskNameFor('img-a', 0));
    expect(() => batchTaskNameFor([])).toThrow('Expected at least one member for a batch');
  });
});

describe('dispatch keys and argument sizes', () => {
  it('accepts task names and refuses what a Workflows label value cannot hold', () => {
    expect(() => assertDispatchKey(taskNameFor('img-1', 0))).not.toThrow();
    for (const bad of ['', 'UPPER', 'a'.repeat(64), 'a/b', 7]) {
      expect(() => assertDispatchKey(bad)).toThrow(/^Expected 1 to 63 of a-z 0-9 _ - for key/);
    }
  });

  it('measures the argument as the JSON text the Executions API receives', () => {
    const argument = { file_ids: ['img_é'], generations: [12] };
    expect(argumentBytes(argument)).toBe(
      Buffer.byteLength('{"file_ids":["img_é"],"generations":[12]}'),
    );
    const ids = Array.from({ length: 1000 }, (_, i) => `img_${String(i).padStart(26, '0')}`);
    const tooBig = { file_ids: ids, generations: ids.map(() => 0) };
    expect(argumentBytes(tooBig)).toBeGreaterThan(MAX_ARGUMENT_BYTES);
    expect(() => assertArgumentSize(tooBig)).toThrow(
      `Expected a workflow argument of at most ${MAX_ARGUMENT_BYTES} bytes but received ${argumentBytes(tooBig)} bytes`,
    );
  });
});

describe('the dry-run dispatcher', () => {
  it('records and logs every dispatch without sending anything', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const dispatcher = createDryRunDispatcher({ logger: createLogger({ stream }) });
    const result = await dispatcher.dispatch({
      key: taskNameFor('img-1', 0),
      queue: 'uploads',
      argument: { file_id: 'img-1', generation: 0 },
    });
    expect(result).toEqual({
      taskName: `dry-run/uploads/${taskNameFor('img-1', 0)}`,
      alreadyExisted: false,
    });
    expect(dispatcher.dispatched).toHaveLength(1);
    expect(dispatcher.dispatched[0]?.argument).toEqual({ file_id: 'img-1', generation: 0 });
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      severity: 'INFO',
      message: 'dry-run dispatch',
      key: taskNameFor('img-1', 0),
      argument: { file_id: 'img-1', generation: 0 },
      imageId: 'img-1',
    });
    expect(await dispatcher.executionState?.(taskNameFor('img-1', 0))).toBeUndefined();
    expect(await dispatcher.taskState?.(taskNameFor('img-1', 0), 'uploads')).toBeUndefined();
  });

  it('flags a repeated dispatch of the same generation as already existing', async () => {
    const dispatcher = createDryRunDispatcher();
    const request = {
      key: taskNameFor('img-1', 0),
      queue: 'uploads',
      argument: { file_id: 'img-1', generation: 0 },
    } as const;
    await dispatcher.dispatch(request);
    expect((await dispatcher.dispatch(request)).alreadyExisted).toBe(true);
  });
});
