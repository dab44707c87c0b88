/**
 * List pagination in the AIP-158 style: `pageSize` + opaque `pageToken`,
 * answered with `nextPageToken` when more items remain.
 */
import { invalidArgument } from './google-error.ts';

/** One page of items plus the token for the next page, if any. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** The half-open index window [start, end) of one page over `total` items. */
export interface PageWindow {
  start: number;
  end: number;
  nextPageToken?: string;
}

/** The window the request's pageSize and pageToken select among `total` items. */
export function pageWindow(
  total: number,
  query: URLSearchParams,
  defaultSize = 100,
  maxSize = 1000,
): PageWindow {
  const rawSize = Number(query.get('pageSize') ?? query.get('page_size') ?? 0);
  const size = rawSize > 0 ? Math.min(rawSize, maxSize) : defaultSize;
  const token = query.get('pageToken') ?? query.get('page_token') ?? '';
  let offset = 0;
  if (token !== '') {
    offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('Invalid page token.');
  }
  const end = Math.min(offset + size, total);
  return offset + size < total
    ? {
        start: offset,
        end,
        nextPageToken: Buffer.from(String(offset + size), 'utf8').toString('base64url'),
      }
    : { start: Math.min(offset, total), end };
}

/** Slices `all` according to the request's pageSize and pageToken. */
export function paginate<T>(
  all: readonly T[],
  query: URLSearchParams,
  defaultSize = 100,
  maxSize = 1000,
): Page<T> {
  const w = pageWindow(all.length, query, defaultSize, maxSize);
  const items = all.slice(w.start, w.end);
  return w.nextPageToken === undefined ? { items } : { items, nextPageToken: w.nextPageToken };
}
