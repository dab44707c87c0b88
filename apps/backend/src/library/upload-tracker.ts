/**
 * Cancelling uploads (the admin page's per-file and whole-batch Cancel). The
 * page names each upload request with a random `X-Upload-Id` (a streamed
 * `POST /api/admin/upload`, or the `complete` of a resumable session, whose
 * session itself the page cancels with `DELETE /api/admin/upload-sessions/:id`);
 * a cancel is `DELETE /api/admin/uploads/:uploadId`, and whenever it arrives
 * nothing the upload created stays:
 *
 * - before the request arrived: the id is remembered and the request, if it
 *   ever comes, is refused before its body is read;
 * - while it is being received: the cancel waits for it to end — an aborted
 *   body leaves nothing (receive-upload deletes a partial object), and images
 *   it completed are deleted;
 * - after it answered (the answer may have been lost): its images are deleted.
 *
 * An image the upload found as a duplicate of an existing one is never
 * removed. A second request with a used id is refused (409), except on a route
 * whose repeat answers what the first did (a session's `complete`:
 * {@link createUploadTracker}'s `repeat`), where it is the same upload sent
 * again. State is in memory: the backend runs as one instance, and an entry
 * is useful only for the minutes a browser tab cares about it; its age is
 * measured on a monotonic clock, so a wall-clock step neither forgets a
 * cancel early nor keeps entries for the size of the step.
 */
import { AppError } from '@slideshow/runtime';

/** The shape of an upload id: 16–64 URL-safe characters (the page sends 22). */
export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** Defaults for {@link createUploadTracker}. */
export const UPLOAD_TRACKER_DEFAULTS = {
  /** How long a finished or cancelled upload is remembered. */
  ttlMs: 15 * 60_000,
  /** Most uploads remembered (in-flight ones are never forgotten). */
  maxEntries: 5_000,
  /**
   * Requests of one id in flight a repeat waits behind, one after the other, before it is
   * refused: a browser repeats a cut request once, and the page repeats a `complete` a few times.
   */
  maxRepeatWaits: 4,
} as const;

type Entry =
  | { state: 'in-flight'; at: number; cancel: boolean; done: Promise<string[]> }
  | { state: 'finished'; at: number; created: string[] }
  | { state: 'cancelled'; at: number };

/** What the upload route holds while its request runs. */
export interface UploadTicket {
  /**
   * Reports the images this upload created (duplicates excluded). Returns
   * true when the upload was cancelled meanwhile: the caller removes them and
   * refuses the request.
   */
  finish(created: string[]): boolean;
  /** Ends the ticket (always, also after an error); wakes a waiting cancel with what was removed. */
  release(removed: string[]): void;
}

type InFlight = Extract<Entry, { state: 'in-flight' }>;

/** A new in-flight entry, and the function that wakes the cancels waiting for it. */
function inFlight(at: number): { entry: InFlight; wake: (removed: string[]) => void } {
  let wake: (removed: string[]) => void = () => {};
  const entry: InFlight = {
    state: 'in-flight',
    at,
    cancel: false,
    done: new Promise<string[]>((resolve) => {
      wake = resolve;
    }),
  };
  return { entry, wake };
}

/**
 * The ticket of the request registered as `entry`. `carried`: the images an earlier request of
 * the same id created (a repeat's), which a cancel removes too. `end` is told how it ended (the
 * images created, or cancelled) and what was removed.
 */
function ticketOf(
  entry: InFlight,
  carried: string[],
  end: (ended: 'cancelled' | string[], removed: string[]) => void,
): UploadTicket {
  let cancelled = false;
  let created = carried;
  return {
    finish(ids) {
      created = [...new Set([...carried, ...ids])];
      cancelled = entry.cancel;
      return cancelled;
    },
    release(removed) {
      end(cancelled ? 'cancelled' : created, removed);
    },
  };
}

/**
 * `take(entry)` of `uploadId`'s entry (undefined: none) once no request of it is in flight,
 * called in the same turn as that check (so two waiting repeats never both see it free), after
 * waiting for at most `maxWaits` such requests one after the other; CONFLICT after that.
 */
async function whenSettled<T>(
  entries: Map<string, Entry>,
  uploadId: string,
  maxWaits: number,
  take: (entry: Exclude<Entry, InFlight> | undefined) => T,
): Promise<T> {
  for (let waits = 0; waits <= maxWaits; waits += 1) {
    const entry = entries.get(uploadId);
    if (entry?.state !== 'in-flight') return take(entry);
    await entry.done;
  }
  throw new AppError('CONFLICT', 'this upload id is in use by other requests', {
    context: { uploadId },
  });
}

/** Creates the tracker. */
export function createUploadTracker(
  options: {
    remove: (ids: string[]) => Promise<void>;
    /** Milliseconds on a clock that never steps; default `performance.now`. */
    monotonicNow?: () => number;
  } & Partial<typeof UPLOAD_TRACKER_DEFAULTS>,
) {
  const ttlMs = options.ttlMs ?? UPLOAD_TRACKER_DEFAULTS.ttlMs;
  const maxEntries = options.maxEntries ?? UPLOAD_TRACKER_DEFAULTS.maxEntries;
  const maxRepeatWaits = options.maxRepeatWaits ?? UPLOAD_TRACKER_DEFAULTS.maxRepeatWaits;
  const now = options.monotonicNow ?? (() => performance.now());
  const entries = new Map<string, Entry>();

  const prune = () => {
    const t = now();
    for (const [id, entry] of entries) {
      if (entries.size <= maxEntries && t - entry.at < ttlMs) break;
      if (entry.state !== 'in-flight') entries.delete(id);
    }
  };
  const remember = (id: string, entry: Entry) => {
    entries.delete(id); // re-insert: the Map's order is the age order prune relies on
    entries.set(id, entry);
    prune();
  };

  /** Registers an upload request; CONFLICT when the id was cancelled or already used. */
  function begin(uploadId: string, carried: string[] = []): UploadTicket {
    const existing = entries.get(uploadId);
    if (existing?.state === 'cancelled') {
      throw new AppError('CONFLICT', 'this upload was cancelled', { context: { uploadId } });
    }
    if (existing) {
      throw new AppError('CONFLICT', 'this upload id was already used', {
        context: { uploadId },
      });
    }
    const { entry, wake } = inFlight(now());
    remember(uploadId, entry);
    return ticketOf(entry, carried, (ended, removed) => {
      remember(
        uploadId,
        ended === 'cancelled'
          ? { state: 'cancelled', at: now() }
          : { state: 'finished', at: now(), created: ended },
      );
      wake(removed);
    });
  }

  return {
    begin: (uploadId: string): UploadTicket => begin(uploadId),

    /**
     * Registers a request that may repeat an earlier one of the same id — a browser sends a
     * request again by itself after its connection was reset, and the page repeats a `complete`
     * whose answer was lost — for a route whose repeat answers what the first did (an upload
     * session's `complete`). It waits for one still in flight, then is followed like it; a
     * cancel then removes what either created. CONFLICT when the id was cancelled, or when
     * {@link UPLOAD_TRACKER_DEFAULTS}.maxRepeatWaits requests of it were waited for.
     */
    repeat: (uploadId: string): Promise<UploadTicket> =>
      whenSettled(entries, uploadId, maxRepeatWaits, (before) => {
        if (before?.state !== 'finished') return begin(uploadId);
        entries.delete(uploadId);
        return begin(uploadId, before.created);
      }),

    /** Cancels the upload; resolves with the ids of the images removed because of it. */
    async cancel(uploadId: string): Promise<string[]> {
      const entry = entries.get(uploadId);
      if (!entry) {
        remember(uploadId, { state: 'cancelled', at: now() });
        return [];
      }
      if (entry.state === 'cancelled') return [];
      let finished = entry;
      if (entry.state === 'in-flight') {
        entry.cancel = true;
        const removed = await entry.done;
        const after = entries.get(uploadId);
        // The cancel came after the request had already decided it was not cancelled.
        if (after?.state !== 'finished') return removed;
        finished = after;
      }
      if (finished.state !== 'finished') return [];
      await options.remove(finished.created);
      remember(uploadId, { state: 'cancelled', at: now() });
      return finished.created;
    },

    /** Uploads remembered (for tests). */
    get size() {
      return entries.size;
    },
  };
}

/** The tracker. */
export type UploadTracker = ReturnType<typeof createUploadTracker>;
