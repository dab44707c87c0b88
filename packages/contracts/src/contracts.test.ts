import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  FailedBody,
  ImageResult,
  isImageErrorCode,
  JobSpec,
  WorkflowArgument,
} from './index.ts';

describe('contracts', () => {
  it('lists every error code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(isImageErrorCode('CORRUPT_IMAGE')).toBe(true);
    expect(isImageErrorCode('TIMEOUT')).toBe(false);
  });

  it('accepts both workflow argument shapes, each naming its generations, and nothing else', () => {
    expect(WorkflowArgument.safeParse({ file_id: 'a', generation: 0 }).success).toBe(true);
    expect(WorkflowArgument.safeParse({ file_ids: ['a', 'b'], generations: [0, 3] }).success).toBe(
      true,
    );
    expect(WorkflowArgument.safeParse({ file_id: 'a' }).success).toBe(false);
    expect(WorkflowArgument.safeParse({ file_ids: ['a', 'b'], generations: [0] }).success).toBe(
      false,
    );
    expect(WorkflowArgument.safeParse({ file_ids: [], generations: [] }).success).toBe(false);
    expect(WorkflowArgument.safeParse({}).success).toBe(false);
  });

  it('takes a job spec with or without `begun` (older backends send none), and only as a boolean', () => {
    const spec = {
      imageId: 'img_a',
      generation: 4,
      sourceKey: 'originals/img_a',
      sha256: 'a'.repeat(64),
      preset: 'web-v3',
      variantPrefix: 'variants/img_a/web-v3/g4/',
      status: 'regenerating',
    };
    expect(JobSpec.parse(spec)).toEqual(spec);
    expect(JobSpec.parse({ ...spec, begun: true }).begun).toBe(true);
    expect(JobSpec.safeParse({ ...spec, begun: 'yes' }).success).toBe(false);
  });

  it('defaults a failure report to the processor as its source, and requires its generation', () => {
    const report = { generation: 0, code: 'CORRUPT_IMAGE', message: 'x' };
    expect(FailedBody.parse(report).source).toBe('processor');
    expect(
      FailedBody.safeParse({ ...report, generation: undefined, source: 'workflow' }).success,
    ).toBe(false);
  });

  it('refuses a variant suffix that could climb out of its prefix', () => {
    const base = {
      preset: 'web-v1',
      width: 10,
      height: 10,
      format: 'jpeg',
      hasAlpha: false,
      frames: 1,
      placeholder: 'AAAA',
      dominantColor: '#aabbcc',
    };
    const variant = { format: 'jpeg', width: 10, height: 10, bytes: 1 };
    expect(
      ImageResult.safeParse({ ...base, variants: [{ ...variant, suffix: 'w10.jpeg' }] }).success,
    ).toBe(true);
    expect(
      ImageResult.safeParse({ ...base, variants: [{ ...variant, suffix: '../x' }] }).success,
    ).toBe(false);
  });
});
