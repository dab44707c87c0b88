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

/** The page size a request asks for (`pageSize`), within [1, maxSize]; `defaultSize` when absent. */
export function pageSizeOf(query: URLSearchParams, defaultSize = 100, maxSize = 1000): number {
  const rawSize = Number(query.get('pageSize') ?? query.get('page_size') ?? 0);
  return rawSize > 0 ? Math.min(Math.floor(rawSize), maxSize) : defaultSize;
}

/** The window the request's pageSize and pageToken select among `total` items. */
export function pageWindow(
  total: number,
  query: URLSearchParams,
  defaultSize = 100,
  maxSize = 1000,
): PageWindow {
  const size = pageSizeOf(query, defaultSize, maxSize);
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

/** A row read for a keyset page: its item (undefined when unreadable: skipped) and its position. */
export interface KeysetRow<T, C> {
  item: T | undefined;
  cursor: C;
}

/** Reads at most `limit` rows after `after` (from the start when undefined), in the list's order. */
export type KeysetReader<T, C> = (after: C | undefined, limit: number) => KeysetRow<T, C>[];

/** Most rows one list call reads when `keep` refuses most of them (then a shorter page and a token). */
export const SCAN_BUDGET = 5000;
/** Rows read per batch after the first, while `keep` refuses too many to fill the page. */
const BATCH = 256;

/**
 * One page read by position (keyset paging, AIP-158): the next page token
 * holds the cursor of the last item returned, never an offset, so a page costs
 * its own size whatever came before it. The first read is the page and one
 * more (the one that says a next page exists); items `keep` refuses are
 * skipped in batches, and after `SCAN_BUDGET` rows the page ends early with a
 * token to go on from ("fewer results than the page size … does not indicate
 * the end of the collection": https://google.aip.dev/158), so no one call
 * reads a whole history.
 */
export function keysetPage<T, C>(
  read: KeysetReader<T, C>,
  size: number,
  start: C | undefined,
  encode: (cursor: C) => string,
  keep: (item: T) => boolean = () => true,
): Page<T> {
  const items: T[] = [];
  let after = start;
  let last: C | undefined;
  let scanned = 0;
  for (;;) {
    const limit = scanned === 0 ? size + 1 : Math.max(size + 1, BATCH);
    const rows = read(after, limit);
    for (const row of rows) {
      scanned++;
      after = row.cursor;
      if (row.item === undefined || !keep(row.item)) continue;
      if (items.length === size) return { items, nextPageToken: encode(last ?? row.cursor) };
      items.push(row.item);
      last = row.cursor;
    }
    if (rows.length < limit) return { items };
    // The rows read since the last item kept matched nothing: go on after the last row read.
    if (scanned >= SCAN_BUDGET && after !== undefined) {
      return { items, nextPageToken: encode(after) };
    }
  }
}

const SEQ_TOKEN = /^seq:(\d+)$/;

/**
 * A keyset page of a collection kept newest first by an increasing `seq`
 * (`read` gives rows with `seq` below its cursor); the token is `seq:<n>`.
 */
export function seqPage<T>(
  read: KeysetReader<T, number>,
  size: number,
  token: string,
  keep?: (item: T) => boolean,
): Page<T> {
  let before: number | undefined;
  if (token !== '') {
    const seq = SEQ_TOKEN.exec(Buffer.from(token, 'base64url').toString('utf8'))?.[1];
    if (seq === undefined) throw invalidArgument('Invalid page token.');
    before = Number(seq);
  }
  const encode = (seq: number) => Buffer.from(`seq:${seq}`, 'utf8').toString('base64url');
  return keysetPage(read, size, before, encode, keep);
}
