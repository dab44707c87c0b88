import { describe, expect, it } from 'vitest';
import { ApiError } from '../google-error.ts';
import { newExecution } from './execution-record.ts';
import { SAMPLE_TIME, sampleJob, sampleTemplate } from './test-support.ts';

describe('newExecution', () => {
  it('names an execution <job>-<5 of [a-z0-9]>, as Cloud Run does', () => {
    const j = sampleJob();
    const execution = newExecution(j, sampleTemplate, SAMPLE_TIME, () => false);
    expect(execution.name).toMatch(
      /^projects\/p\/locations\/l\/jobs\/processor\/executions\/processor-[a-z0-9]{5}$/,
    );
    expect(j.executionCount).toBe(1);
    expect(j.latestCreatedExecution?.name).toBe(execution.name);
  });

  // A reused name inherits the earlier execution's task attempts: the new one ends at once,
  // "succeeded", and its image is never processed (seen as one image of 250 left queued).
  it('draws again while a name is taken, and never returns a taken one', () => {
    const tried: string[] = [];
    const execution = newExecution(sampleJob(), sampleTemplate, SAMPLE_TIME, (name) => {
      tried.push(name);
      return tried.length <= 3;
    });
    expect(tried).toHaveLength(4);
    expect(execution.name).toBe(tried[3]);
  });

  it('refuses with ABORTED when every draw is taken, and leaves the job as it was', () => {
    const j = sampleJob();
    let error: unknown;
    try {
      newExecution(j, sampleTemplate, SAMPLE_TIME, () => true);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).httpCode).toBe(409);
    expect(j.executionCount).toBe(0);
    expect(j.latestCreatedExecution).toBeUndefined();
  });
});
