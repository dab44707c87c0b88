/**
 * Entity tags for the answers the backend builds itself (the slideshow's
 * list, the pages and their assets), so a browser revalidating a `no-cache`
 * answer gets a 304 with no body when nothing changed.
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
 * A route's 304 for a client that holds the answer. It says `Vary: Accept-Encoding` as the
 * 200 would have (RFC 9110 §15.4.5): compression.ts sets it on answers with a body only.
 */
export function notModified(c: Context): Response {
  c.header('Vary', 'Accept-Encoding');
  return c.body(null, 304);
}
