import { AppError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { toDispatchError } from './task-dispatcher.ts';

describe('toDispatchError: whether a failed dispatch may be tried again', () => {
  it("keeps an adapter's AppError as it is (its retryable comes from the service's answer)", () => {
    const denied = new AppError('DISPATCH_FAILED', '7 PERMISSION_DENIED', { retryable: false });
    expect(toDispatchError(denied)).toBe(denied);
  });

  it('refuses for good a request no service would take (a TypeError from the argument checks)', () => {
    const error = toDispatchError(
      new TypeError('Expected a workflow argument of at most 32000 bytes'),
    );
    expect(error).toMatchObject({ code: 'DISPATCH_FAILED', retryable: false });
    expect(error.message).toBe('Expected a workflow argument of at most 32000 bytes');
  });

  it('retries anything else thrown raw (a socket error) and anything that is not an Error', () => {
    expect(toDispatchError(new Error('socket hang up'))).toMatchObject({
      code: 'DISPATCH_FAILED',
      retryable: true,
    });
    expect(toDispatchError('weird')).toMatchObject({ code: 'DISPATCH_FAILED', retryable: true });
  });
});
