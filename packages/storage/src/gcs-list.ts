/**
 * The GCS adapter's listings (gcs.ts `list`, `deletePrefix`): `objects.list`
 * page by page (https://cloud.google.com/storage/docs/json_api/v1/objects/list),
 * and with a delimiter the merge of each page's `items` and `prefixes` into
 * one key order.
 */
import type { Bucket, FileMetadata } from '@google-cloud/storage';
import { AppError } from '@slideshow/runtime';
import { mapGcsError } from './gcs-errors.ts';
import {
  assertValidPrefix,
  type CommonPrefix,
  isValidKey,
  type ListEntry,
  type ObjectInfo,
} from './object-store.ts';

/** What a store knows of an object, from its metadata. */
export function toInfo(key: string, metadata: FileMetadata): ObjectInfo {
  const info: ObjectInfo = {
    key,
    bytes: Number(metadata.size ?? 0),
    contentType: metadata.contentType ?? 'application/octet-stream',
    updated: new Date(metadata.updated ?? metadata.timeCreated ?? 0),
  };
  if (metadata.cacheControl) info.cacheControl = metadata.cacheControl;
  return info;
}

/** The query of one `objects.list` request. */
export interface ListQuery {
  prefix: string;
  autoPaginate: false;
  maxResults: number;
  delimiter?: '/';
  /** Inclusive: the listing starts at the first name that is not less. */
  startOffset?: string;
  pageToken?: string;
}

/** One page of `objects.list`. */
export interface ListPage {
  objects: ObjectInfo[];
  /** `prefixes[]`: only with a delimiter. */
  prefixes: string[];
  pageToken: string | undefined;
}

/** A runaway-listing guard: 10 million objects at the default page size. */
const MAX_LIST_PAGES = 10_000;

/**
 * Cloud Storage's key order: by UTF-8 bytes, which is not JavaScript's
 * (UTF-16 code units put a character above U+FFFF before U+E000–U+FFFF).
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Merges the objects and common prefixes of a delimiter listing into one key
 * order. Cloud Storage counts both against a page's `maxResults` ("maximum
 * number of items plus prefixes", the client's `GetFilesOptions`), so each
 * page holds the next entries in order; the Storage emulator instead paginates the
 * objects alone and repeats every prefix on every page. Both come out right:
 * a prefix waits until no object before it can still arrive (the page's last
 * object, or the end), and one at or below the last entry yielded is a repeat.
 */
export async function* inKeyOrder(pages: AsyncIterable<ListPage>): AsyncGenerator<ListEntry> {
  let pending: string[] = [];
  let last: string | undefined;
  const isNew = (prefix: string) => last === undefined || compareKeys(prefix, last) > 0;
  for await (const page of pages) {
    pending = [...new Set([...pending, ...page.prefixes.filter(isNew)])].sort(compareKeys);
    for (const object of page.objects) {
      while (pending[0] !== undefined && compareKeys(pending[0], object.key) < 0) {
        const prefix = pending.shift() as string;
        last = prefix;
        yield { kind: 'prefix', prefix } satisfies CommonPrefix;
      }
      last = object.key;
      yield { ...object, kind: 'object' };
    }
    if (page.objects.length === 0 || !page.pageToken) {
      for (const prefix of pending) yield { kind: 'prefix', prefix } satisfies CommonPrefix;
      last = pending.at(-1) ?? last;
      pending = [];
    }
  }
}

/** One page of `objects.list`: its objects, common prefixes (with a delimiter) and next token. */
async function listPage(bucket: Bucket, query: ListQuery): Promise<ListPage> {
  try {
    const [files, nextQuery, response] = await bucket.getFiles(query);
    return {
      // Names no key can express (e.g. "folder/" placeholders made by the console) are skipped.
      objects: files.filter((f) => isValidKey(f.name)).map((f) => toInfo(f.name, f.metadata)),
      prefixes: (response as { prefixes?: string[] } | undefined)?.prefixes ?? [],
      pageToken: (nextQuery as { pageToken?: string } | null | undefined)?.pageToken,
    };
  } catch (error) {
    throw mapGcsError(error, query.prefix, 'list');
  }
}

/** What {@link listPages} sends besides the prefix: a delimiter, and where to start. */
export interface ListFrom {
  delimiter?: '/' | undefined;
  /** Sent as `startOffset`, which is inclusive: the caller drops an entry equal to it. */
  startAfter?: string | undefined;
}

/** The pages of `objects.list` under `prefix`, `pageSize` entries each, fetched lazily. */
export async function* listPages(
  bucket: Bucket,
  pageSize: number,
  prefix: string,
  from: ListFrom = {},
): AsyncGenerator<ListPage> {
  assertValidPrefix(prefix);
  let query: ListQuery = {
    prefix,
    autoPaginate: false,
    maxResults: pageSize,
    ...(from.delimiter ? { delimiter: from.delimiter } : {}),
    ...(from.startAfter ? { startOffset: from.startAfter } : {}),
  };
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const listed = await listPage(bucket, query);
    yield listed;
    if (!listed.pageToken) return;
    query = { ...query, pageToken: listed.pageToken };
  }
  throw new AppError(
    'STORAGE_UNAVAILABLE',
    `Listing ${JSON.stringify(prefix)} did not end after ${MAX_LIST_PAGES} pages`,
    {
      context: { prefix },
    },
  );
}
