import { AppError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import {
  EXIT_CODES,
  FAILURE_TABLE,
  type FailureKind,
  failureKind,
  isFinalAttempt,
  NOT_REACHED,
  planFailure,
  startFailureExitCode,
  taskExitCode,
} from './exit-policy.ts';

describe('the error policy, as a table (README "Exit codes and the error policy")', () => {
  // kind, final attempt?, outcome, exit, report (budget), when the report fails, delete variants
  it.each([
    [
      'permanent',
      false,
      'failed-permanent',
      0,
      'callback-deadline',
      ['failed-unreported', 1],
      false,
    ],
    [
      'permanent',
      true,
      'failed-permanent',
      0,
      'callback-deadline',
      ['failed-unreported', 1],
      false,
    ],
    ['retryable', false, 'retryable', 1, false, undefined, false],
    ['retryable', true, 'retryable', 1, 'callback-deadline', undefined, false],
    ['terminated', false, 'terminated', 143, false, undefined, false],
    ['terminated', true, 'terminated', 143, 'termination', undefined, false],
    ['interrupted', false, 'interrupted', 143, false, undefined, false],
    ['interrupted', true, 'interrupted', 143, false, undefined, false],
    ['gone', false, 'gone', 0, false, undefined, true],
    ['gone', true, 'gone', 0, false, undefined, true],
    ['stale', false, 'stale', 0, false, undefined, false],
    ['stale', true, 'stale', 0, false, undefined, false],
  ] as const)(
    '%s on a final attempt (%s): %s, exit %i, report %s',
    (kind, final, outcome, exitCode, report, unreported, deleteVariants) => {
      const plan = planFailure(kind, final);
      expect(plan).toEqual({
        outcome,
        exitCode,
        report,
        deleteVariants,
        ...(unreported ? { unreported: { outcome: unreported[0], exitCode: unreported[1] } } : {}),
      });
    },
  );

  it('has a row for every kind, and exits 0 only when the outcome is settled or not ours', () => {
    const kinds: FailureKind[] = [
      'terminated',
      'interrupted',
      'gone',
      'stale',
      'retryable',
      'permanent',
    ];
    expect(Object.keys(FAILURE_TABLE).sort()).toEqual([...kinds].sort());
    for (const kind of kinds) {
      for (const final of [false, true]) {
        const plan = planFailure(kind, final);
        // Exit 0 tells Cloud Run not to retry: only after a delivered report, or with nothing to do.
        if (plan.exitCode === EXIT_CODES.ok) {
          expect(plan.report === false || plan.unreported !== undefined).toBe(true);
        }
      }
    }
  });
});

describe('failureKind: what an error means to the policy', () => {
  it.each([
    [
      'aborted by SIGTERM, whatever the error',
      new AppError('STORAGE_UNAVAILABLE', 'x', { retryable: true }),
      true,
      'terminated',
    ],
    [
      'aborted by SIGINT (a shutdown of the local stack)',
      new AppError('TIMEOUT', 'processor received SIGINT', { context: { signal: 'SIGINT' } }),
      true,
      'interrupted',
    ],
    [
      '404 from the backend: the image was deleted',
      new AppError('NOT_FOUND', 'gone', { context: { status: 404, origin: 'backend' } }),
      false,
      'gone',
    ],
    [
      'NOT_FOUND from the folder store (a missing original)',
      new AppError('NOT_FOUND', 'no object'),
      false,
      'permanent',
    ],
    [
      "Cloud Storage's 404 (a missing original): reported, not taken for a deleted image",
      new AppError('NOT_FOUND', 'no object', {
        context: { key: 'originals/img_x', operation: 'get', status: 404 },
      }),
      false,
      'permanent',
    ],
    ['409 STALE_GENERATION', new AppError('STALE_GENERATION', 'newer'), false, 'stale'],
    [
      'a retryable error',
      new AppError('BACKEND_UNAVAILABLE', 'x', { retryable: true }),
      false,
      'retryable',
    ],
    ['a permanent error', new AppError('CORRUPT_IMAGE', 'x'), false, 'permanent'],
  ] as const)('%s → %s', (_what, error, aborted, kind) => {
    expect(failureKind(error, aborted)).toBe(kind);
  });
});

describe('attempts and start-up failures', () => {
  it.each([
    [0, 3, false],
    [2, 3, false],
    [3, 3, true],
    [0, 0, true],
  ])('attempt %i of maxRetries %i is final: %s', (attempt, maxRetries, final) => {
    expect(isFinalAttempt({ attempt, maxRetries })).toBe(final);
  });

  it('exits 1 when the task could not start for a passing reason, 2 for a broken deployment', () => {
    expect(
      startFailureExitCode(new AppError('STORAGE_UNAVAILABLE', 'x', { retryable: true })),
    ).toBe(1);
    expect(startFailureExitCode(new AppError('VALIDATION_FAILED', 'bad bucket'))).toBe(2);
  });
});

describe('a task of several images (README "Batch mode")', () => {
  const { ok, retry, terminated } = EXIT_CODES;
  // the images' exit statuses → the task's
  it.each([
    [[], ok],
    [[ok], ok],
    [[retry], retry],
    [[ok, ok, ok], ok],
    // one image that needs a retry makes Cloud Run retry the task; the others are then skipped
    [[ok, retry, ok], retry],
    // a stop (SIGTERM) wins: the task was terminated whatever else happened
    [[ok, retry, terminated], terminated],
    [[terminated, NOT_REACHED.exitCode], terminated],
  ] as const)('images ending %j make the task exit %i', (codes, expected) => {
    expect(taskExitCode(codes)).toBe(expected);
  });

  it('leaves an image a stopped task never began unreported, exiting as terminated', () => {
    expect(NOT_REACHED).toEqual({ outcome: 'not-reached', exitCode: 143 });
  });
});
