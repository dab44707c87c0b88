import { describe, expect, it } from 'vitest';
import {
  AdminImage,
  DescriptionConflictAnswer,
  FailedTasksAnswer,
  ImageDetailAnswer,
  LibraryPageAnswer,
} from './index.ts';

/** An uploaded, not yet processed image as the admin API shows it. */
const image = {
  id: 'img_a',
  originalName: 'a.png',
  title: '',
  caption: '',
  altText: '',
  published: true,
  revision: 'dGhlIGRlc2NyaXB0aW9uIQ',
  slidePosition: null,
  status: 'failed',
  retryable: true,
  generation: 0,
  priority: 'interactive',
  contentType: 'image/png',
  bytes: 100,
  sha256: 'a'.repeat(64),
  sourceKey: 'originals/img_a',
  preset: 'web-v1',
  width: 8,
  height: 8,
  format: 'png',
  hasAlpha: false,
  frames: 1,
  placeholder: null,
  dominantColor: null,
  variants: [],
  thumb: null,
  timings: null,
  attempts: 1,
  lastErrorCode: 'CORRUPT_IMAGE',
  execution: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  processedAt: null,
};

describe('admin answers', () => {
  it('takes an admin image and refuses one with a renamed field', () => {
    expect(AdminImage.safeParse(image).success).toBe(true);
    const { retryable, ...renamed } = image;
    expect(AdminImage.safeParse({ ...renamed, canRetry: retryable }).success).toBe(false);
    expect(AdminImage.safeParse({ ...image, status: 'regenerating' }).success).toBe(false);
  });

  it("requires a library entry's failure and a page's cursor, null when there is none", () => {
    const entry = { ...image, failure: { code: 'CORRUPT_IMAGE', message: 'x' } };
    expect(LibraryPageAnswer.safeParse({ images: [entry], nextCursor: null }).success).toBe(true);
    expect(LibraryPageAnswer.safeParse({ images: [image], nextCursor: null }).success).toBe(false);
    expect(LibraryPageAnswer.safeParse({ images: [entry] }).success).toBe(false);
  });

  it('requires the failed task and the execution state of a detail, either null', () => {
    const detail = { ...image, failedTask: null, executionState: null };
    expect(ImageDetailAnswer.safeParse(detail).success).toBe(true);
    expect(ImageDetailAnswer.safeParse(image).success).toBe(false);
    expect(
      ImageDetailAnswer.safeParse({
        ...detail,
        executionState: {
          name: 'projects/p/locations/l/workflows/w/executions/e',
          state: 'ACTIVE',
        },
      }).success,
    ).toBe(true);
  });

  it('gives a description conflict the error of its code and the image as it is now', () => {
    const error = { code: 'PRECONDITION_FAILED', message: 'changed', requestId: 'r1' };
    const entry = { ...image, failure: null };
    expect(DescriptionConflictAnswer.safeParse({ error, image: entry }).success).toBe(true);
    expect(DescriptionConflictAnswer.safeParse({ error }).success).toBe(false);
    const { revision, ...unrevised } = entry;
    expect(DescriptionConflictAnswer.safeParse({ error, image: unrevised }).success).toBe(false);
    expect(revision).toBeTypeOf('string');
  });

  it("takes a failed regeneration's row as not retryable, and a deleted image's row", () => {
    const row = {
      imageId: 'img_a',
      errorCode: 'ORIGINAL_MISMATCH',
      errorMessage: 'x',
      attemptCount: 1,
      lastAttempt: '2026-01-01T00:00:00.000Z',
      execution: null,
      source: 'regenerate',
      createdAt: '2026-01-01T00:00:00.000Z',
      resolvedAt: null,
      retryable: false,
      permanent: null,
      image: null,
    };
    expect(
      FailedTasksAnswer.safeParse({ failedTasks: [row], limit: 500, retryableCount: 0 }).success,
    ).toBe(true);
    expect(
      FailedTasksAnswer.safeParse({
        failedTasks: [{ ...row, source: 'someone' }],
        limit: 500,
        retryableCount: 0,
      }).success,
    ).toBe(false);
  });
});
