/**
 * What every group of state transitions (transitions/*.ts) shares: the
 * database, the repositories, the clock, and the guards lifecycle.ts builds
 * once. A transition is one SQLite transaction.
 */
import type { QueueName } from '@slideshow/dispatch';
import type { ImageRow } from '../db/images-repository.ts';
import type { Db } from '../db/open-database.ts';
import type { Repositories } from '../repositories.ts';

/** The shared parts of the state machine. */
export interface TransitionContext {
  db: Db;
  repos: Repositories;
  /** Epoch ms (the relay's schedule). */
  now: () => number;
  /** ISO-8601 UTC (the columns people read). */
  iso: () => string;
  /** Adds the outbox row that dispatches `generation` of the image. */
  enqueue: (imageId: string, generation: number, queue: QueueName) => void;
  /** The image's row; NOT_FOUND when it is gone. */
  load: (id: string) => ImageRow;
  /** STALE_GENERATION unless `generation` is the image's current one. */
  checkGeneration: (row: ImageRow, generation: number) => void;
}

/** Outcome of a callback transition. */
export type Transition = { applied: true } | { applied: false; reason: string };
