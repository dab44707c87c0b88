import { Writable } from 'node:stream';
import { createLogger } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { createDryRunDispatcher } from './dry-run.ts';
import { taskNameFor } from './task-dispatcher.ts';

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
      imageId: 'img-1',
      generation: 0,
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
      imageId: 'img-1',
    });
    expect(await dispatcher.executionState?.('img-1', 0)).toBeUndefined();
  });

  it('flags a repeated dispatch of the same generation as already existing', async () => {
    const dispatcher = createDryRunDispatcher();
    const request = {
      imageId: 'img-1',
      generation: 0,
      queue: 'uploads',
      argument: { file_id: 'img-1', generation: 0 },
    } as const;
    await dispatcher.dispatch(request);
    expect((await dispatcher.dispatch(request)).alreadyExisted).toBe(true);
  });
});
