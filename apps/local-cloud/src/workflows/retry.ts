/**
 * Built-in retry policies and predicates of `try`/`retry`:
 * https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry
 * and https://cloud.google.com/workflows/docs/reference/stdlib/retry/always.
 */
import type { WfValue } from './values.ts';

/** Policy numbers of http.default_retry (https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry). */
export const DEFAULT_BACKOFF = { maxRetries: 5, initialDelay: 1, maxDelay: 60, multiplier: 1.25 };

function hasTag(error: WfValue, tag: string): boolean {
  const tags = error instanceof Map ? error.get('tags') : null;
  return Array.isArray(tags) && tags.includes(tag);
}

function httpCode(error: WfValue): number | undefined {
  const code = error instanceof Map ? error.get('code') : null;
  return typeof code === 'bigint' || typeof code === 'number' ? Number(code) : undefined;
}

/** Evaluates a built-in predicate (retry.always, http.default_retry_predicate, …) on an error. */
export function builtinPredicate(name: string, error: WfValue): boolean {
  switch (name) {
    case 'retry.always':
      return true;
    case 'retry.never':
      return false;
    case 'http.default_retry_predicate_non_idempotent':
      return (
        (hasTag(error, 'HttpError') && [429, 503].includes(httpCode(error) ?? 0)) ||
        hasTag(error, 'ConnectionFailedError')
      );
    default:
      return (
        (hasTag(error, 'HttpError') && [429, 502, 503, 504].includes(httpCode(error) ?? 0)) ||
        hasTag(error, 'ConnectionError') ||
        hasTag(error, 'ConnectionFailedError') ||
        hasTag(error, 'TimeoutError')
      );
  }
}
