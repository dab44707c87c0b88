import { AppError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { fullJobSpec, startFields, wasBegun } from './job-spec.ts';

const spec = {
  imageId: 'img-1',
  generation: 2,
  sourceKey: 'originals/img-1',
  sha256: 'a'.repeat(64),
  preset: 'web-v1',
  variantPrefix: 'variants/img-1/web-v1/g2/',
  status: 'queued',
};

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('job spec checks', () => {
  it('takes the fields needed to start from a valid job spec', () => {
    expect(startFields('img-1', spec)).toMatchObject({
      generation: 2,
      sourceKey: 'originals/img-1',
      status: 'queued',
    });
  });

  it('refuses to start without a source key, as a permanent VALIDATION_FAILED', () => {
    const { sourceKey: _, ...rest } = spec;
    let error: unknown;
    try {
      startFields('img-1', rest);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('VALIDATION_FAILED');
    expect((error as AppError).retryable).toBe(false);
    expect((error as AppError).context.issues).toEqual([expect.stringContaining('sourceKey')]);
  });

  it('refuses to start on a `begun` that is not a boolean', () => {
    expect(startFields('img-1', { ...spec, begun: true }).begun).toBe(true);
    expect(() => startFields('img-1', { ...spec, begun: 'yes' })).toThrow(
      'job spec for img-1 is malformed',
    );
  });

  it("tells a begun image by the spec's `begun`, and by a `processing` status from a backend that sends none", () => {
    expect(wasBegun({ status: 'regenerating', begun: true })).toBe(true);
    expect(wasBegun({ status: 'regenerating', begun: false })).toBe(false);
    expect(wasBegun({ status: 'regenerating' })).toBe(false);
    expect(wasBegun({ status: 'processing' })).toBe(true);
    expect(wasBegun({ status: 'queued' })).toBe(false);
  });

  it('accepts the full contract and refuses a spec whose hash is not hex', async () => {
    await expect(fullJobSpec('img-1', spec)).resolves.toEqual(spec);
    const error = await rejection(fullJobSpec('img-1', { ...spec, sha256: 'nope' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.context.issues).toEqual([expect.stringContaining('sha256')]);
  });

  it('refuses a job spec that names another image', async () => {
    const error = await rejection(fullJobSpec('img-2', spec));
    expect(error.message).toBe('job spec for img-2 names img-1');
  });
});
