/**
 * The media library routes under /api/admin (behind requireAdmin): the
 * listing with search, status, visibility and missing-alt-text filters, sorts
 * and a keyset cursor; lookups by id or content hash (the upload page follows
 * its files and skips ones already uploaded); editing an image's title, caption, alt text and
 * visibility (over the revision its `If-Match` names, when it names one:
 * library/description-revision.ts); bulk delete/retry/hide/publish; an image's
 * timeline; and the slideshow order.
 */
import {
  type AdminSlideshowAnswer,
  BulkAction,
  type BulkActionAnswer,
  type DescriptionConflictAnswer,
  ImageStatus,
  type ImageTimelineAnswer,
  type LibraryImage,
  type LibraryImageAnswer,
  type LibraryLookupAnswer,
  type LibraryPageAnswer,
  type SlideshowOrderAnswer,
} from '@slideshow/contracts';
import { AppError, coerceError } from '@slideshow/runtime';
import { type Context, Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv, Services } from '../context.ts';
import {
  cursorPosition,
  LIBRARY_SORTS,
  type LibraryListRow,
  type LibrarySort,
  SLIDESHOW_LENGTH,
  sortValue,
} from '../db/library-repository.ts';
import { ifMatchAllows, parseIfMatch } from '../entity-tag.ts';
import { errorBody } from '../http-errors.ts';
import { IMAGE_ID_PATTERN } from '../ids.ts';
import { adminView, describedOf, thumbnail } from '../image-view.ts';
import { deleteImage } from '../library/delete-image.ts';
import { DescriptionPatchBody } from '../library/description.ts';
import {
  alreadyDescribed,
  descriptionRevision,
  revisionTag,
  sendRevision,
} from '../library/description-revision.ts';
import { jsonBody } from '../request-body.ts';

/** Most images one bulk action or lookup names. */
export const MAX_BULK = 500;

const ImageId = z.string().regex(IMAGE_ID_PATTERN, 'not an image id');

const ListQuery = z.object({
  status: ImageStatus.optional(),
  visibility: z.enum(['published', 'hidden']).optional(),
  // Only the images with no alt text, for the console's "Missing alt text" filter.
  alt: z.enum(['missing']).optional(),
  // No name or title holds a control character (sanitize-name.ts, description.ts), and a NUL
  // once ended the search pattern (SQLite's LIKE): `q=%00` matched every image.
  q: z
    .string()
    .max(100)
    .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters')
    .optional(),
  sort: z.enum(LIBRARY_SORTS).default('date'),
  order: z.enum(['asc', 'desc']).optional(),
  // A file name or title of up to 200 characters (4 UTF-8 bytes each at most, JSON escapes),
  // its id and the sort, in base64url: under 2 KiB.
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const LookupBody = z
  .object({
    ids: z.array(ImageId).max(MAX_BULK).optional(),
    sha256: z
      .array(z.string().regex(/^[0-9a-f]{64}$/, 'not a lower-case sha256 hex digest'))
      .max(MAX_BULK)
      .optional(),
  })
  .strict();

const BulkBody = z
  .object({
    action: BulkAction,
    ids: z.array(ImageId).min(1).max(MAX_BULK),
  })
  .strict();

const OrderBody = z.object({ ids: z.array(ImageId).max(SLIDESHOW_LENGTH) }).strict();

/** The natural direction of each sort: newest, A→Z, largest first. */
const DEFAULT_ORDER: Record<LibrarySort, 'asc' | 'desc'> = {
  date: 'desc',
  name: 'asc',
  title: 'asc',
  size: 'desc',
};

const CursorTuple = z.tuple([
  z.enum(LIBRARY_SORTS),
  z.enum(['asc', 'desc']),
  z.union([z.string(), z.number()]),
  z.string(),
]);

function encodeCursor(sort: LibrarySort, order: string, value: string | number, id: string) {
  return Buffer.from(JSON.stringify([sort, order, value, id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: LibrarySort, order: 'asc' | 'desc') {
  let parsed: z.infer<typeof CursorTuple>;
  try {
    parsed = CursorTuple.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', 'invalid cursor', { cause: error });
  }
  if (parsed[0] !== sort || parsed[1] !== order) {
    throw new AppError('VALIDATION_FAILED', 'the cursor belongs to another sort order');
  }
  return { value: cursorPosition(parsed[2], sort), id: parsed[3] };
}

function checkId(id: string): string {
  if (!IMAGE_ID_PATTERN.test(id)) throw new AppError('NOT_FOUND', 'no such image');
  return id;
}

/** One page of the library for `q`, and the cursor of the next one (null on the last). */
function listPage(library: Services['library'], q: z.infer<typeof ListQuery>) {
  const order = q.order ?? DEFAULT_ORDER[q.sort];
  const search = q.q?.trim();
  const rows = library.list({
    sort: q.sort,
    order,
    limit: q.limit + 1,
    ...(q.status ? { status: q.status } : {}),
    ...(q.visibility ? { published: q.visibility === 'published' } : {}),
    ...(q.alt === 'missing' ? { altMissing: true } : {}),
    ...(search ? { search } : {}),
    ...(q.cursor ? { after: decodeCursor(q.cursor, q.sort, order) } : {}),
  });
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > q.limit && last
      ? encodeCursor(q.sort, order, sortValue(last, q.sort), last.id)
      : null;
  return { page, nextCursor };
}

/**
 * The precondition of a description write: none without `If-Match` (scripts and older clients
 * write unconditionally, as before), else the tags it names or '*'; 400 when it is neither.
 */
function preconditionOf(ifMatch: string | undefined) {
  if (ifMatch === undefined) return () => true;
  const tags = parseIfMatch(ifMatch);
  if (tags === null) {
    throw new AppError(
      'VALIDATION_FAILED',
      'If-Match must be * or quoted entity tags, e.g. If-Match: "<revision>"',
    );
  }
  return (row: LibraryListRow, patch: DescriptionPatchBody) => {
    const current = describedOf(row);
    return (
      ifMatchAllows(tags, revisionTag(descriptionRevision(current))) ||
      alreadyDescribed(current, patch)
    );
  };
}

/** The 412 of a description write over another revision: the error and the image as it is. */
function conflict(c: Context<AppEnv>, image: LibraryImage): Response {
  const error = new AppError(
    'PRECONDITION_FAILED',
    `the description of ${image.id} changed since the revision If-Match names; nothing was written (the image as it is now is in the answer)`,
  );
  c.get('logger').info('request refused', { code: error.code, imageId: image.id });
  const body: DescriptionConflictAnswer = { ...errorBody(error, c.get('requestId')), image };
  return c.json(body, 412);
}

/** Applies a bulk action image by image; one result per distinct id, in order. */
async function applyBulk(services: Services, body: z.infer<typeof BulkBody>) {
  const results: BulkActionAnswer['results'] = [];
  for (const id of new Set(body.ids)) {
    try {
      if (body.action === 'delete') await deleteImage(services, id);
      else if (body.action === 'retry') services.lifecycle.retry(id);
      else if (!services.library.describe(id, { published: body.action === 'publish' })) {
        throw new AppError('NOT_FOUND', `no image ${id}`);
      }
      results.push({ id, ok: true });
    } catch (error) {
      // One image's refusal (gone, not failed) does not stop the others; a storage
      // outage fails each delete the same way and is reported per image too.
      const e = coerceError(error);
      results.push({ id, ok: false, error: { code: e.code, message: e.message } });
    }
  }
  return results;
}

/** Routes under /api/admin. */
export function libraryRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const { deps, repos, library } = services;
  const limited = services.limitBody('library');
  const base = deps.publicMediaBaseUrl;
  const view = (row: LibraryListRow): LibraryImage => ({
    ...adminView(row, base),
    failure:
      row.failure_code === null
        ? null
        : { code: row.failure_code, message: row.failure_message ?? '' },
  });

  app.get('/images', (c) => {
    const { page, nextCursor } = listPage(library, ListQuery.parse(c.req.query()));
    return c.json({ images: page.map(view), nextCursor } satisfies LibraryPageAnswer);
  });

  app.post('/images/lookup', limited, (c) => {
    const body = LookupBody.parse(jsonBody(c));
    const rows = [...library.byIds(body.ids ?? []), ...library.bySha256(body.sha256 ?? [])];
    const unique = new Map(rows.map((r) => [r.id, r]));
    return c.json({ images: [...unique.values()].map(view) } satisfies LibraryLookupAnswer);
  });

  // RFC 9110 §13.1.1: with If-Match, written only over the revision it names (or '*'); a
  // write that changes nothing of the current description is answered 200 as applied.
  app.patch('/images/:id', limited, (c) => {
    const id = checkId(c.req.param('id'));
    const patch = DescriptionPatchBody.parse(jsonBody(c));
    const allows = preconditionOf(c.req.header('If-Match'));
    const outcome = library.describeIf(id, patch, (row) => allows(row, patch));
    if (outcome.done === 'missing') throw new AppError('NOT_FOUND', `no image ${id}`);
    if (outcome.done === 'refused') return conflict(c, view(outcome.current));
    const image = view(outcome.image);
    c.get('logger').info('image described', { imageId: id, fields: Object.keys(patch) });
    sendRevision(c, image.revision);
    return c.json({ image } satisfies LibraryImageAnswer);
  });

  app.get('/images/:id/timeline', (c) => {
    const id = checkId(c.req.param('id'));
    if (!repos.images.get(id)) throw new AppError('NOT_FOUND', `no image ${id}`);
    return c.json({
      events: library.events(id).map((e) => ({
        at: e.at,
        kind: e.kind,
        generation: e.generation,
        attempt: e.attempt,
        execution: e.execution,
        code: e.code,
        detail: e.detail,
      })),
    } satisfies ImageTimelineAnswer);
  });

  app.post('/images/bulk', limited, async (c) => {
    const body = BulkBody.parse(jsonBody(c));
    const results = await applyBulk(services, body);
    const failed = results.filter((r) => !r.ok).length;
    c.get('logger').info('bulk action', {
      action: body.action,
      ok: results.length - failed,
      failed,
    });
    return c.json({ action: body.action, results } satisfies BulkActionAnswer);
  });

  app.get('/slideshow', (c) => {
    const rows = library.slideshow(SLIDESHOW_LENGTH);
    return c.json({
      images: rows.map((r) => ({
        id: r.id,
        originalName: r.original_name,
        title: r.title,
        altText: r.alt_text,
        slidePosition: r.slide_position,
        placeholder: r.placeholder,
        thumb: thumbnail(r, base),
      })),
    } satisfies AdminSlideshowAnswer);
  });

  app.put('/slideshow/order', services.limitBody('slideshowOrder'), (c) => {
    const { ids } = OrderBody.parse(jsonBody(c));
    if (new Set(ids).size !== ids.length) {
      throw new AppError('VALIDATION_FAILED', 'an image appears twice in the order');
    }
    const placed = library.setOrder(ids);
    const placedSet = new Set(placed);
    const ignored = ids.filter((id) => !placedSet.has(id));
    c.get('logger').info('slideshow ordered', { placed: placed.length, ignored: ignored.length });
    return c.json({ placed, ignored } satisfies SlideshowOrderAnswer);
  });

  return app;
}
