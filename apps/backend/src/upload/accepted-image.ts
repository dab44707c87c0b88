/**
 * The image row an original becomes once it is stored, hashed and its header
 * probed: one mapping for the three ways an image enters (a multipart upload,
 * a resumable upload session, an ingest of a bucket object), which differ
 * only in where the object is and at which priority it is processed.
 */
import type { probeHeader } from '@slideshow/imaging/header';
import type { NewImage } from '../db/images-repository.ts';

/** A stored original, ready to be recorded by `lifecycle.accept`. */
export interface AcceptedOriginal {
  id: string;
  /** The sanitised name the admin sees. */
  originalName: string;
  /** Where the original is stored: the image's source key. */
  key: string;
  bytes: number;
  sha256: string;
  /** What the header probe read (format always; mime and size when the header tells). */
  probe: Awaited<ReturnType<typeof probeHeader>>;
  /** `interactive` for uploads, `batch` for ingest (queue `ingest`). */
  priority: NewImage['priority'];
  /** The preset the image is made with. */
  preset: string;
  /** Accepted at (ms since the epoch). */
  now: number;
}

/** The new image row of an accepted original (content type, size and format from its probe). */
export function acceptedImage(original: AcceptedOriginal): NewImage {
  const { probe } = original;
  return {
    id: original.id,
    original_name: original.originalName,
    content_type: probe.mime ?? 'application/octet-stream',
    bytes: original.bytes,
    sha256: original.sha256,
    source_key: original.key,
    priority: original.priority,
    preset: original.preset,
    width: probe.width ?? null,
    height: probe.height ?? null,
    format: probe.format,
    created_at: new Date(original.now).toISOString(),
  };
}
