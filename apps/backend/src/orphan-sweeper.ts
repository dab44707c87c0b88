/**
 * The orphan sweeper: deletes stored objects that belong to no image row.
 *
 * They appear when the backend dies between storing an upload's original and
 * committing its row (the client's retry gets a new id), or when a processor
 * attempt writes variants of an image deleted meanwhile and is killed before
 * its callback can trigger the cleanup. Objects younger than `graceMs` are
 * left alone, so an upload between its store write and its transaction is
 * never touched. Keys are `originals/<id>` and `variants/<id>/…` (keys.ts).
 */
import { coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';

/** Options for {@link createOrphanSweeper}. */
export interface OrphanSweeperOptions {
  store: ObjectStore;
  /** True when an image row with this id exists. */
  imageExists(id: string): boolean;
  logger: Logger;
  graceMs: number;
  intervalMs: number;
  now?: () => number;
}

/** The running sweeper. */
export interface OrphanSweeper {
  /** One pass now; resolves with the keys and prefixes deleted. */
  sweepOnce(): Promise<string[]>;
  start(): void;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Creates the sweeper (not started). */
export function createOrphanSweeper(options: OrphanSweeperOptions): OrphanSweeper {
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string[]> | undefined;

  const old = (updated: Date) => now() - updated.getTime() >= options.graceMs;

  async function pass(): Promise<string[]> {
    const deleted: string[] = [];
    for await (const object of options.store.list('originals/')) {
      const id = object.key.slice('originals/'.length);
      if (id.includes('/') || options.imageExists(id) || !old(object.updated)) continue;
      await options.store.delete(object.key);
      deleted.push(object.key);
    }
    const orphanVariantIds = new Set<string>();
    for await (const object of options.store.list('variants/')) {
      const id = object.key.split('/')[1] ?? '';
      if (id && !options.imageExists(id) && old(object.updated)) orphanVariantIds.add(id);
    }
    for (const id of orphanVariantIds) {
      // Checked again: an id seen without a row a moment ago cannot gain one
      // (ids are never reused), but the cost of the check is nothing.
      if (options.imageExists(id)) continue;
      await options.store.deletePrefix(`variants/${id}/`);
      deleted.push(`variants/${id}/`);
    }
    if (deleted.length > 0) options.logger.warn('deleted orphaned objects', { deleted });
    return deleted;
  }

  const sweepOnce = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    sweepOnce,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        sweepOnce().catch((error: unknown) => {
          options.logger.error('orphan sweep failed', { error: coerceError(error) });
        });
      }, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
