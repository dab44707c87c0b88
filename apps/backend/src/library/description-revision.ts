/**
 * The revision of an image's description — title, caption, alt text and
 * whether the slideshow shows it — and the conditional write over it
 * (`PATCH /api/admin/images/:id` with `If-Match`, RFC 9110 §13.1.1), so that
 * two admins (or tabs, or a script and the console) editing one image never
 * overwrite each other unseen.
 *
 * The revision is a hash of the four described values, not a counter kept in
 * a column. A hash is right by construction for every writer of those columns:
 * the PATCH, the bulk Hide/Show, the slideshow panel's Hide, an operator's
 * `sqlite3`, and an older release still running on the same database during a
 * deploy or a rollback (docs/architecture.md, "Database": expand, then
 * contract), none of which would bump a counter they do not know about
 * (a trigger could, at the price of a migration). Its one difference from a
 * counter — a description edited and edited back has its old revision again —
 * is harmless here: a write over that revision replaces exactly what its
 * writer saw.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';

/** The described values, as the admin view names them. */
export interface DescribedValues {
  title: string;
  caption: string;
  altText: string;
  published: boolean;
}

/**
 * The revision of `values`: 22 base64url characters of their sha256 (132
 * bits), a valid entity tag's content as it is (RFC 9110 §8.8.3's etagc).
 */
export function descriptionRevision(values: DescribedValues): string {
  const canonical = JSON.stringify([
    values.title,
    values.caption,
    values.altText,
    values.published,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** The strong entity tag of a revision: `"<revision>"`. */
export const revisionTag = (revision: string): string => `"${revision}"`;

/**
 * True when a PATCH of `patch` would change nothing of `current`: RFC 9110
 * §13.1.1 lets a server answer 2xx instead of 412 to a state-changing request
 * that "appears to have already been applied" (a save repeated after its
 * answer was lost, or two admins typing the same fix).
 */
export function alreadyDescribed(current: DescribedValues, patch: Partial<DescribedValues>) {
  return (Object.keys(patch) as (keyof DescribedValues)[]).every(
    (key) => patch[key] === undefined || patch[key] === current[key],
  );
}

/**
 * Marks an answer that shows an image's description with its revision as a strong `ETag`,
 * and `no-transform`, which keeps it out of compression.ts: a compressed answer's tag is weak
 * (RFC 9110 §8.8.3.3), and `If-Match` compares strongly, so a client (`curl --compressed`, any
 * browser) that sent back the tag it was given would be refused forever. The answer stays
 * `no-store` (app.ts), so no cache ever revalidates it with the tag either.
 */
export function sendRevision(c: Context, revision: string): void {
  c.header('ETag', revisionTag(revision));
  c.header('Cache-Control', 'no-store, no-transform');
}
