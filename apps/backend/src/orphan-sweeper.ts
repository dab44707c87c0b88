/**
 * The orphan sweeper: deletes stored objects the pipeline wrote and that
 * belong to no image row — and only those (docs/security.md). The bucket may
 * hold the admin's own files (ingest reads them in place, under any key), so
 * nothing is deleted for merely lacking a row:
 *
 * - **Originals**: an upload records its key in `pending_originals` before
 *   writing the object and removes it in the transaction that adds the image
 *   row. A key still pending after `graceMs` is an upload cut between its
 *   store write and its commit (a kill -9; the client's retry got a new id):
 *   its object is deleted unless some image uses it as its source. Nothing
 *   else under `originals/` is ever touched, so an ingested object (even one
 *   named like `originals/img_…`) stays, before and after its image is deleted.
 * - **Upload sessions** (`upload_sessions`): a resumable upload abandoned
 *   before `complete` (a closed tab, a lost network) is cancelled once past
 *   its `expires_at` — the session takes no more bytes — and whatever it
 *   stored is deleted, unless an image uses it. Its key stays out of the
 *   pending pass while the session lives. Before that, each pass asks the
 *   store how much every open session expiring before the pass after next
 *   holds: one that received bytes since the last look is still sending, and
 *   its expiry slides (upload/upload-sessions.ts, `renewIfReceiving`).
 * - **Variants**: keys in the exact layout the processor writes
 *   (`variants/<generated id>/<preset>/g<N>/<suffix>`, keys.ts) whose image
 *   has no row and that are older than `graceMs`: variants of an image deleted
 *   while an attempt was writing them. Anything else under `variants/` stays,
 *   and so do the variants of an id whose upload original
 *   (`originals/<id>`) is still stored: a delete removes the original before
 *   the row, so such an id is an upload the database lost — restored to a
 *   point before it (docs/operations.md, "After a restore") — and its variants
 *   are kept for the operator, who finds it with scripts/reconcile. Each pass
 *   logs them as kept.
 * - **Superseded variant sets**: a set of an image that has a row, at a
 *   generation below the image's current one, whose newest object is older
 *   than `graceMs`: what an attempt wrote before it failed (or was reaped) and
 *   the image was retried at a new generation. Nothing references it — the
 *   recorded set is at the current generation, a regeneration in flight
 *   above it — so it is handed to the regenerator's grace deletion
 *   (`deferred_deletions`, regen/grace-deletion.ts), due at once: that one
 *   queue deletes every replaced set, never the set the image serves when it
 *   runs, and keeps a set a regeneration replaced until that set's own later
 *   date (a prefix is scheduled once).
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectReader, ObjectStore } from '@slideshow/storage';
import {
  allVariantsPrefix,
  originalKey,
  parseVariantKey,
  VARIANTS_ROOT,
  variantPrefix,
} from './keys.ts';
import type { Repositories } from './lifecycle.ts';
import { createPeriodicPass } from './periodic-pass.ts';
import { renewIfReceiving, UPLOAD_SESSION_DEFAULTS } from './upload/upload-sessions.ts';

/** The sweeper's policy in one place (ORPHAN_GRACE_MS and ORPHAN_SWEEP_INTERVAL_MS override it). */
export const ORPHAN_SWEEPER_DEFAULTS = {
  /**
   * How old an uncommitted upload or an orphaned variant must be before it is
   * deleted: longer than any upload between its store write and its commit.
   */
  graceMs: 60 * 60_000,
  /** How often a pass runs. */
  intervalMs: 60 * 60_000,
} as const;

/** The sweeper's tunable settings; defaults in {@link ORPHAN_SWEEPER_DEFAULTS}. */
export interface OrphanSweeperSettings {
  graceMs: number;
  intervalMs: number;
}

/** Options for {@link createOrphanSweeper}. */
export interface OrphanSweeperOptions extends OrphanSweeperSettings {
  store: ObjectStore;
  repos: Pick<Repositories, 'images' | 'pendingOriginals' | 'uploadSessions' | 'regen'>;
  logger: Logger;
  now?: () => number;
  /** How long an upload session lives without receiving a byte (UPLOAD_SESSION_TTL_MS). */
  uploadSessionTtlMs?: number;
}

/** The running sweeper. */
export interface OrphanSweeper {
  /** One pass now; resolves with the keys deleted. */
  sweepOnce(): Promise<string[]>;
  start(): void;
  /**
   * Stops the timer and ends a pass in progress at its next object or step (a
   * listing of a large bucket takes minutes), then resolves.
   */
  stop(): Promise<void>;
}

/** Most pending originals handled per pass (the rest wait for the next one). */
const PENDING_PER_PASS = 1000;

/**
 * Deletes the variants of `imageId` that are in the pipeline's layout (keys.ts)
 * and returns how many; anything else under the image's prefix is left alone.
 */
export async function deleteGeneratedVariants(
  store: ObjectStore,
  imageId: string,
  keep: (updated: Date) => boolean = () => false,
): Promise<string[]> {
  const deleted: string[] = [];
  for await (const object of store.list(allVariantsPrefix(imageId))) {
    if (parseVariantKey(object.key)?.imageId !== imageId || keep(object.updated)) continue;
    await store.delete(object.key);
    deleted.push(object.key);
  }
  return deleted;
}

/**
 * One listing of the variants: the images without a row that have variants
 * older than `cutoff`, and the superseded sets (below the image's current
 * generation) whose newest object is older than `cutoff`, by prefix.
 * Undefined when `signal` aborted the listing: a partial survey is never acted
 * on (a set's newest object may come later in the listing).
 */
async function surveyVariants(
  store: ObjectReader,
  images: Pick<Repositories['images'], 'get'>,
  cutoff: number,
  signal: AbortSignal,
) {
  const orphanIds = new Set<string>();
  const generations = new Map<string, number | undefined>();
  const generationOf = (id: string) => {
    if (!generations.has(id)) generations.set(id, images.get(id)?.generation);
    return generations.get(id);
  };
  const newest = new Map<string, { imageId: string; updated: number }>();
  for await (const object of store.list(VARIANTS_ROOT)) {
    // Stopping (a shutdown): one listing of a large bucket takes minutes; the next pass starts over.
    if (signal.aborted) return undefined;
    const parsed = parseVariantKey(object.key);
    if (!parsed) continue;
    const updated = object.updated.getTime();
    const current = generationOf(parsed.imageId);
    if (current === undefined) {
      if (updated <= cutoff) orphanIds.add(parsed.imageId);
      continue;
    }
    if (parsed.generation >= current) continue;
    const prefix = variantPrefix(parsed.imageId, parsed.preset, parsed.generation);
    const seen = newest.get(prefix);
    if (!seen || seen.updated < updated) newest.set(prefix, { imageId: parsed.imageId, updated });
  }
  const superseded = [...newest].filter(([, set]) => set.updated <= cutoff);
  return { orphanIds, superseded };
}

/** Logs what a pass deleted, and that it stopped early when `signal` aborted it. */
function report(logger: Logger, deleted: string[], signal: AbortSignal): string[] {
  if (deleted.length > 0) {
    logger.warn('deleted orphaned objects', {
      count: deleted.length,
      keys: deleted.slice(0, 50),
    });
  }
  if (signal.aborted) logger.info('orphan sweep stopped early; the next pass starts over');
  return deleted;
}

/**
 * Slides the expiry of the open sessions still receiving bytes among those that would expire
 * before the pass after next (a pass that runs late still looks before they expire). A store
 * that cannot answer leaves the expiry as it is, with a WARNING.
 */
async function renewReceivingSessions(
  options: OrphanSweeperOptions,
  now: () => number,
  signal: AbortSignal,
): Promise<void> {
  const { store, repos, logger } = options;
  const uploads = store.uploads;
  if (!uploads) return;
  const renewal = {
    sessions: repos.uploadSessions,
    uploads,
    ttlMs: options.uploadSessionTtlMs ?? UPLOAD_SESSION_DEFAULTS.ttlMs,
    now,
  };
  const at = now();
  const soon = at + 2 * options.intervalMs;
  for (const session of repos.uploadSessions.expiringBefore(at, soon, PENDING_PER_PASS)) {
    if (signal.aborted) return;
    try {
      if (await renewIfReceiving(session, renewal)) {
        // Not `imageId`: the id becomes an image's only if `complete` accepts the object.
        logger.info('upload session still receiving; its expiry moved', {
          resumableUploadId: session.id,
          fileName: session.original_name,
        });
      }
    } catch (error) {
      logger.warn('could not ask an upload session how much it holds; its expiry stays', {
        resumableUploadId: session.id,
        fileName: session.original_name,
        error: coerceError(error),
      });
    }
  }
}

/** Creates the sweeper (not started). */
export function createOrphanSweeper(options: OrphanSweeperOptions): OrphanSweeper {
  const now = options.now ?? Date.now;
  const { store, repos } = options;

  /**
   * Hands superseded sets to the grace deletion, due now (an earlier schedule of a prefix wins),
   * and logs those it scheduled: a set a regeneration scheduled for later is seen again on every
   * pass until its date, and is no news.
   */
  function scheduleSuperseded(sets: [string, { imageId: string }][]): void {
    const at = now();
    const scheduled = sets.filter(([prefix, { imageId }]) =>
      repos.regen.addDeletion(prefix, imageId, at, at),
    );
    if (scheduled.length === 0) return;
    options.logger.info('superseded variant sets scheduled for deletion', {
      count: scheduled.length,
      prefixes: scheduled.slice(0, 50).map(([prefix]) => prefix),
    });
  }

  /**
   * Deletes the old enough variants of ids without a row, except those whose upload original is
   * still stored (an upload a restored database lost), which are logged as kept.
   */
  async function sweepOrphanVariants(
    orphanIds: Set<string>,
    cutoff: number,
    signal: AbortSignal,
  ): Promise<string[]> {
    const deleted: string[] = [];
    const kept: string[] = [];
    for (const id of orphanIds) {
      // Stopping: each id is whole on its own; the ones not reached wait for the next pass.
      if (signal.aborted) break;
      // Checked again: the pass may have run long, and the check costs nothing.
      if (repos.images.get(id)) continue;
      if ((await store.stat(originalKey(id))) !== undefined) {
        kept.push(id);
        continue;
      }
      const young = (updated: Date) => updated.getTime() > cutoff;
      deleted.push(...(await deleteGeneratedVariants(store, id, young)));
    }
    if (kept.length > 0) {
      options.logger.warn(
        'kept the variants of images without a row whose upload original is stored: a restored database lost them (docs/operations.md, "After a restore")',
        { count: kept.length, imageIds: kept.slice(0, 50) },
      );
    }
    return deleted;
  }

  /**
   * One pass. `signal` (aborted by `stop`, i.e. a shutdown) is checked before each
   * object and step: every step is whole on its own (a session cancelled, then its
   * object and rows removed; a pending key settled; an image's variants deleted), and
   * a variant survey cut short is dropped, so a stopped pass leaves nothing half done.
   */
  async function pass(signal: AbortSignal): Promise<string[]> {
    const deleted: string[] = [];
    await renewReceivingSessions(options, now, signal);
    for (const session of repos.uploadSessions.expiredBefore(now(), PENDING_PER_PASS)) {
      if (signal.aborted) return report(options.logger, deleted, signal);
      // Cancelled first, so the session cannot store the object again after it is deleted.
      await store.uploads?.cancelUpload(session.session_url);
      if (!repos.images.usesSource(session.key)) {
        await store.delete(session.key);
        deleted.push(session.key);
      }
      repos.uploadSessions.remove(session.id);
      repos.pendingOriginals.remove(session.key);
    }
    const cutoff = now() - options.graceMs;
    for (const pending of repos.pendingOriginals.olderThan(cutoff, PENDING_PER_PASS)) {
      if (signal.aborted) return report(options.logger, deleted, signal);
      if (!repos.images.usesSource(pending.key)) {
        await store.delete(pending.key);
        deleted.push(pending.key);
      }
      repos.pendingOriginals.remove(pending.key);
    }
    const survey = await surveyVariants(store, repos.images, cutoff, signal);
    if (!survey) return report(options.logger, deleted, signal);
    scheduleSuperseded(survey.superseded);
    deleted.push(...(await sweepOrphanVariants(survey.orphanIds, cutoff, signal)));
    return report(options.logger, deleted, signal);
  }

  const periodic = createPeriodicPass(pass, {
    intervalMs: options.intervalMs,
    logger: options.logger,
    failure: 'orphan sweep failed',
  });
  return { sweepOnce: periodic.runOnce, start: periodic.start, stop: periodic.stop };
}
