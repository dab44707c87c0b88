/**
 * The one error every verifier throws for a bad credential. Internal.
 */
import { AppError } from '@slideshow/runtime';

/**
 * `AppError('UNAUTHENTICATED')` with a fixed reason. The reason is one of a
 * few phrases chosen by this package, never text derived from the token, so
 * neither the response nor the logs can leak a credential.
 */
export function unauthenticated(reason: string): AppError {
  return new AppError('UNAUTHENTICATED', `callback credential rejected: ${reason}`, {
    retryable: false,
    context: { reason },
  });
}
