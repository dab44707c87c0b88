/**
 * JSON views of an image: the admin view (typed by its contract in
 * @slideshow/contracts, admin-images.ts, which the routes extend with the
 * library's failure or the detail's failed task and execution state) and the
 * public slideshow entry (variant URLs grouped per format for `<picture>` /
 * `srcset`).
 */

import {
  type AdminImage,
  type AdminThumbnail,
  type FailedTask,
  type Slide,
  type Variant,
  Variant as VariantSchema,
} from '@slideshow/contracts';
import * as z from 'zod';
import type { FailedTaskRow } from './db/failed-tasks-repository.ts';
import type { ImageRow } from './db/images-repository.ts';
import type { DescriptionColumns } from './db/library-repository.ts';
import { variantPrefix } from './keys.ts';
import { type DescribedValues, descriptionRevision } from './library/description-revision.ts';
import { isRetryable } from './transitions/retries.ts';

const Variants = z.array(VariantSchema);

function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

/** The stored variants of a processed image. */
export function variantsOf(row: ImageRow): Variant[] {
  return row.variants === null ? [] : Variants.parse(parseJson(row.variants));
}

function joinUrl(base: string, key: string): string {
  return base.endsWith('/') ? `${base}${key}` : `${base}/${key}`;
}

/** Storage key of one variant of the image's current generation. */
export function variantKey(row: ImageRow, variant: Variant): string {
  return `${variantPrefix(row.id, row.preset, row.generation)}${variant.suffix}`;
}

/** An image row, with the library columns when the query selected them. */
type ViewRow = ImageRow & Partial<DescriptionColumns>;

/**
 * The processing timings of a row: JSON the backend itself wrote from a parsed
 * `ImageResult.timings` (transitions/callbacks.ts), so read without another
 * parse on every listed image.
 */
function timingsOf(row: ImageRow): Record<string, number> | null {
  return parseJson(row.timings) as Record<string, number> | null;
}

/** The described values of a row, as the admin view names them. */
export function describedOf(row: ViewRow): DescribedValues {
  return {
    title: row.title ?? '',
    caption: row.caption ?? '',
    altText: row.alt_text ?? '',
    published: (row.published ?? 1) === 1,
  };
}

/** The admin's view of an image (list entries, retry answer and detail). */
export function adminView(row: ViewRow, mediaBase: string): AdminImage {
  const described = describedOf(row);
  return {
    id: row.id,
    originalName: row.original_name,
    ...described,
    revision: descriptionRevision(described),
    slidePosition: row.slide_position ?? null,
    status: row.status,
    // What `POST /api/admin/images/:id/retry` takes now: the console offers Retry (one image
    // or a bulk selection) by this alone, and the retry's 409 stays the guard.
    retryable: isRetryable(row.status),
    generation: row.generation,
    priority: row.priority,
    contentType: row.content_type,
    bytes: row.bytes,
    sha256: row.sha256,
    sourceKey: row.source_key,
    preset: row.preset,
    width: row.width,
    height: row.height,
    format: row.format,
    hasAlpha: row.has_alpha === null ? null : row.has_alpha === 1,
    frames: row.frames,
    placeholder: row.placeholder,
    dominantColor: row.dominant_color,
    variants: variantsOf(row).map((v) => {
      const key = variantKey(row, v);
      return { ...v, key, url: joinUrl(mediaBase, key) };
    }),
    thumb: thumbnail(row, mediaBase),
    timings: timingsOf(row),
    attempts: row.attempts,
    lastErrorCode: row.last_error_code,
    execution: row.execution,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    processedAt: row.processed_at,
  };
}

/** The API view of a failed_tasks row. */
export function failedTaskView(row: FailedTaskRow): FailedTask {
  return {
    imageId: row.image_id,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    attemptCount: row.attempt_count,
    lastAttempt: row.last_attempt,
    execution: row.execution,
    source: row.source,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}

const FORMAT_ORDER = ['avif', 'webp', 'jpeg', 'png'] as const;
const MIME: Record<Variant['format'], string> = {
  avif: 'image/avif',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

/** Widest variant a thumbnail may use: a 10rem card at 3x device pixels still fits. */
export const THUMBNAIL_MAX_WIDTH = 640;

/**
 * The small variants for a grid card, per format for `<picture>`/`srcset`
 * (the browser picks the width from `sizes`): stills only, the poster of an
 * animated image rather than its animation, never wider than 640 px.
 */
export function thumbnail(row: ImageRow, mediaBase: string): AdminThumbnail | null {
  const variants = variantsOf(row);
  const posters = variants.filter((v) => v.role === 'poster');
  const pool = (posters.length > 0 ? posters : variants.filter((v) => !v.animated)).filter(
    (v) => v.width <= THUMBNAIL_MAX_WIDTH,
  );
  if (pool.length === 0) return null;
  const sources = FORMAT_ORDER.flatMap((format) => {
    const list = pool.filter((v) => v.format === format).sort((a, b) => a.width - b.width);
    if (list.length === 0) return [];
    const srcset = list
      .map((v) => `${joinUrl(mediaBase, variantKey(row, v))} ${v.width}w`)
      .join(', ');
    return [{ format, type: MIME[format], srcset }];
  });
  const smallest = [...pool].sort((a, b) => a.width - b.width)[0]!;
  const fallback =
    pool
      .filter((v) => v.format === 'jpeg' || v.format === 'png')
      .sort((a, b) => a.width - b.width)[0] ?? smallest;
  return {
    src: joinUrl(mediaBase, variantKey(row, fallback)),
    width: fallback.width,
    height: fallback.height,
    sources,
  };
}

/** A processed image as the public slideshow needs it. */
export function slideshowEntry(row: ViewRow, mediaBase: string): Slide {
  const variants = variantsOf(row);
  const stills = variants.filter((v) => v.role === 'image');
  const sources = FORMAT_ORDER.flatMap((format) => {
    const list = stills.filter((v) => v.format === format).sort((a, b) => a.width - b.width);
    if (list.length === 0) return [];
    const srcset = list
      .map((v) => `${joinUrl(mediaBase, variantKey(row, v))} ${v.width}w`)
      .join(', ');
    return [{ format, type: MIME[format], srcset }];
  });
  const fallbackList = stills
    .filter((v) => v.format === 'jpeg' || v.format === 'png')
    .sort((a, b) => a.width - b.width);
  const pool =
    fallbackList.length > 0 ? fallbackList : [...stills].sort((a, b) => a.width - b.width);
  const fallback = [...pool].reverse().find((v) => v.width <= 1280) ?? pool[0];
  const poster = variants.find((v) => v.role === 'poster');
  return {
    id: row.id,
    title: row.title ?? '',
    caption: row.caption ?? '',
    alt: row.alt_text ?? '',
    width: row.width,
    height: row.height,
    placeholder: row.placeholder,
    dominantColor: row.dominant_color,
    animated: (row.frames ?? 1) > 1,
    src: fallback ? joinUrl(mediaBase, variantKey(row, fallback)) : null,
    sources,
    poster: poster ? joinUrl(mediaBase, variantKey(row, poster)) : null,
  };
}
