import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  FailedBody,
  ImageResult,
  isImageErrorCode,
  JobSpec,
  permanenceOf,
  RegenFilter,
  RegenRunAnswer,
  WorkflowArgument,
} from './index.ts';

describe('contracts', () => {
  it('lists every error code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(isImageErrorCode('CORRUPT_IMAGE')).toBe(true);
    expect(isImageErrorCode('TIMEOUT')).toBe(false);
  });

  it('takes an image error and a missing original (NOT_FOUND) as permanent for a failed image, nothing else', () => {
    expect(permanenceOf('CORRUPT_IMAGE')).toBe('image');
    expect(permanenceOf('NOT_FOUND')).toBe('original-missing');
    for (const code of [
      'TIMEOUT',
      'JOB_FAILED',
      'ORIGINAL_MISMATCH',
      'VARIANTS_MISSING',
      'STUCK',
    ]) {
      expect(permanenceOf(code), code).toBeUndefined();
    }
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

  it('takes a regeneration filter with UTC-normalised instants, and refuses an unknown field, a bad instant or an empty range', () => {
    expect(
      RegenFilter.parse({
        ids: ['img_a'],
        from: '2026-01-01T01:00:00+01:00',
        visibility: 'hidden',
      }),
    ).toEqual({ ids: ['img_a'], from: '2026-01-01T00:00:00.000Z', visibility: 'hidden' });
    const refused = (filter: unknown) =>
      RegenFilter.safeParse(filter).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(refused({ visiblity: 'hidden' })).toEqual([': Unrecognized key: "visiblity"']);
    expect(refused({ from: 'yesterday' })).toEqual(['from: Invalid ISO datetime']);
    expect(refused({ ids: [] })).toEqual(['ids: Too small: expected array to have >=1 items']);
    expect(refused({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toEqual([
      'from: `from` must be earlier than `to`',
    ]);
  });

  it("drops a filter field it does not know from a run's answer instead of refusing the answer", () => {
    const run = {
      id: 1,
      status: 'done',
      reason: null,
      preset: 'web-v3',
      presetVersion: '0123456789abcdef',
      filter: { visibility: 'published', addedLater: true },
      total: 0,
      done: 0,
      failed: 0,
      cancelled: 0,
      inFlight: 0,
      remaining: 0,
      executions: 0,
      caps: { executionsPerRun: 1, failures: 1, executionsPerHour: 1 },
      etaSeconds: null,
      estimate: { cpuSeconds: 0, costUsd: 0 },
      measured: { images: 0, cpuSeconds: 0, costUsd: 0 },
      createdAt: '2026-01-01T00:00:00.000Z',
      finishedAt: null,
    };
    expect(RegenRunAnswer.parse({ run }).run.filter).toEqual({ visibility: 'published' });
  });
});
