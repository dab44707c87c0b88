/**
 * `startOffset` for the firebase-tools Storage emulator, which ignores it (its
 * `objects.list` reads only `prefix`, `delimiter`, `pageToken` and
 * `maxResults`): a listing that should start part-way would start from the
 * beginning. Cloud Storage lists only the objects whose name is at or after
 * `startOffset` (inclusive), and with a `delimiter` the common prefixes of
 * those objects (https://cloud.google.com/storage/docs/json_api/v1/objects/list).
 *
 * This layer answers a listing that carries `startOffset` itself, from the
 * emulator's own listing of every object under the prefix: it drops the
 * objects before the offset, groups the rest by the delimiter, and pages the
 * objects and prefixes together in key order, `maxResults` entries a page, as
 * Cloud Storage counts them; its `pageToken` is the last entry of the previous
 * page. A listing without `startOffset` goes to the emulator untouched.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { coerceError } from '@slideshow/runtime';
import { compareKeys } from '../gcs-list.ts';

const LIST = /^\/(?:storage\/v1\/)?b\/([^/]+)\/o\/?$/;

/** Cloud Storage's default and largest page. */
const MAX_RESULTS = 1000;

/** An object's metadata as the emulator answers it (passed through untouched). */
interface Item {
  name: string;
}

/** One entry of a page: an object, or a common prefix. */
type Entry = { sortKey: string; item: Item } | { sortKey: string; prefix: string };

/** Every object under `prefix`, read from the emulator page by page, in name order. */
async function everyObject(base: string, bucket: string, prefix: string): Promise<Item[]> {
  const items: Item[] = [];
  let pageToken: string | undefined;
  // Bounded by the number of objects: every page but the last holds MAX_RESULTS of them.
  do {
    const query = new URLSearchParams({ prefix, maxResults: String(MAX_RESULTS) });
    if (pageToken !== undefined) query.set('pageToken', pageToken);
    const response = await fetch(`${base}/storage/v1/b/${encodeURIComponent(bucket)}/o?${query}`);
    if (!response.ok) throw new Error(`listing ${bucket}/${prefix} answered ${response.status}`);
    const page = (await response.json()) as { items?: Item[]; nextPageToken?: string };
    items.push(...(page.items ?? []));
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return items;
}

/** The objects at or after `startOffset`, as one level when there is a `delimiter`, in key order. */
function entriesFrom(items: Item[], prefix: string, delimiter: string, startOffset: string) {
  const entries = new Map<string, Entry>();
  for (const item of items) {
    if (compareKeys(item.name, startOffset) < 0) continue;
    const cut = delimiter === '' ? -1 : item.name.indexOf(delimiter, prefix.length);
    if (cut === -1) {
      entries.set(item.name, { sortKey: item.name, item });
    } else {
      const common = item.name.slice(0, cut + delimiter.length);
      entries.set(common, { sortKey: common, prefix: common });
    }
  }
  return [...entries.values()].sort((a, b) => compareKeys(a.sortKey, b.sortKey));
}

/** Answers one listing with `startOffset`. */
async function answerList(base: string, bucket: string, url: URL, res: ServerResponse) {
  const prefix = url.searchParams.get('prefix') ?? '';
  const delimiter = url.searchParams.get('delimiter') ?? '';
  const startOffset = url.searchParams.get('startOffset') ?? '';
  const after = url.searchParams.get('pageToken') ?? '';
  const maxResults = Math.min(
    Number(url.searchParams.get('maxResults') ?? MAX_RESULTS),
    MAX_RESULTS,
  );
  const entries = entriesFrom(
    await everyObject(base, bucket, prefix),
    prefix,
    delimiter,
    startOffset,
  );
  const rest = entries.filter((entry) => compareKeys(entry.sortKey, after) > 0);
  const page = rest.slice(0, maxResults);
  const items = page.flatMap((entry) => ('item' in entry ? [entry.item] : []));
  const prefixes = page.flatMap((entry) => ('prefix' in entry ? [entry.prefix] : []));
  const body = {
    kind: 'storage#objects',
    ...(items.length > 0 ? { items } : {}),
    ...(prefixes.length > 0 ? { prefixes } : {}),
    ...(rest.length > page.length ? { nextPageToken: page.at(-1)?.sortKey } : {}),
  };
  res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

/** Wraps the emulator's `app` so that `objects.list` honours `startOffset`; `base()` is the server's own URL. */
export function withListStartOffset(app: RequestListener, base: () => string): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const bucket = LIST.exec(url.pathname)?.[1];
    if (req.method !== 'GET' || bucket === undefined || !url.searchParams.has('startOffset')) {
      app(req, res);
      return;
    }
    answerList(base(), decodeURIComponent(bucket), url, res).catch((error: unknown) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(coerceError(error).message);
    });
  };
}
