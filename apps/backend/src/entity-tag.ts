/**
 * Entity tags for the answers the backend builds itself (the slideshow's
 * list, the pages and their assets), so a browser revalidating a `no-cache`
 * answer gets a 304 with no body when nothing changed; and the `If-Match` of
 * a conditional write (an image's description: library/description-revision.ts).
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';

/** A strong entity tag for a body: a quoted sha256 prefix (162 bits). */
export function entityTag(body: string | Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** The entity tags of an `If-None-Match` value without their `W/`, or '*'. */
const opaqueTags = (header: string) => header.split(',').map((t) => t.trim().replace(/^W\//, ''));

/**
 * True when `ifNoneMatch` names `etag` by weak comparison (RFC 9110
 * §8.8.3.2), as RFC 9110 §13.1.2 asks of `If-None-Match`: a compressed copy's `W/` tag
 * (compression.ts) names the same content as the route's strong one.
 */
export function weaklyMatches(ifNoneMatch: string | undefined, etag: string | null): boolean {
  if (!ifNoneMatch || !etag) return false;
  const tags = opaqueTags(ifNoneMatch);
  return tags.includes('*') || tags.includes(etag.replace(/^W\//, ''));
}

/**
 * True when `ifNoneMatch` names this exact (strong) tag, for a route: a `W/`
 * tag is a compressed copy's, which compression.ts answers itself so that
 * its 304 carries the same weak tag its 200 did.
 */
export function namesExactly(ifNoneMatch: string | undefined, etag: string): boolean {
  return ifNoneMatch?.split(',').some((t) => t.trim() === etag || t.trim() === '*') ?? false;
}

/**
 * One element of an `If-Match` list (RFC 9110 §8.8.3: `[W/]"etagc*"`, where etagc is any
 * visible ASCII but `"`, or obs-text — a comma included) and the comma or end after it.
 */
const TAG_ITEM = /[ \t]*(?:(W\/)?"([\x21\x23-\x7E\x80-\xFF]*)")?[ \t]*(?:,|$)/y;

/**
 * The entity tags an `If-Match` value names, each with whether it is weak, or '*' (RFC 9110
 * §13.1.1); null when the value is neither (a tag without its quotes, say). Empty list
 * elements (`"a", , "b"`) are skipped, as RFC 9110 §5.6.1 asks of a recipient.
 */
export function parseIfMatch(value: string): '*' | { tag: string; weak: boolean }[] | null {
  if (value.trim() === '*') return '*';
  const tags: { tag: string; weak: boolean }[] = [];
  TAG_ITEM.lastIndex = 0;
  while (TAG_ITEM.lastIndex < value.length) {
    const at = TAG_ITEM.lastIndex;
    const item = TAG_ITEM.exec(value);
    if (!item || TAG_ITEM.lastIndex === at) return null;
    if (item[2] !== undefined) tags.push({ tag: `"${item[2]}"`, weak: item[1] !== undefined });
  }
  return tags.length > 0 ? tags : null;
}

/**
 * True when a parsed `If-Match` (see {@link parseIfMatch}) lets a write over the current
 * strong tag `etag` go ahead: '*' (the target exists, which the caller has checked), or a
 * tag equal to it by strong comparison (RFC 9110 §8.8.3.2: neither weak, same characters).
 */
export function ifMatchAllows(
  ifMatch: '*' | readonly { tag: string; weak: boolean }[],
  etag: string,
): boolean {
  return ifMatch === '*' || ifMatch.some((t) => !t.weak && t.tag === etag);
}

/**
 * A route's 304 for a client that holds the answer. It says `Vary: Accept-Encoding` as the
 * 200 would have (RFC 9110 §15.4.5): compression.ts sets it on answers with a body only.
 */
export function notModified(c: Context): Response {
  c.header('Vary', 'Accept-Encoding');
  return c.body(null, 304);
}
