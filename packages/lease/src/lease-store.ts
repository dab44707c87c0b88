/**
 * The `LeaseStore` port: one small record with a generation, read and
 * replaced by compare-and-swap. It is the whole contract the single-writer
 * lease (lease.ts) needs from Cloud Storage or from a file: a write names the
 * generation it expects to replace (`ABSENT` = the record must not exist yet,
 * as `ifGenerationMatch=0` means in Cloud Storage,
 * https://cloud.google.com/storage/docs/request-preconditions), and fails with
 * `CONFLICT` when anyone else wrote in between. Generations never repeat.
 *
 * Adapters: `@slideshow/lease/gcs` (an object, conditional writes with
 * ifGenerationMatch) and `@slideshow/lease/fs` (a SQLite file, the same
 * compare-and-swap in one transaction). Both pass lease-store.contract.ts.
 */
import * as z from 'zod';

/** The generation a write expects when the record must not exist yet. */
export const ABSENT = '0';

const Party = z.object({
  /** Unique per process incarnation (never reused after a restart). */
  owner: z.string().min(1).max(200),
  /** Deployment identity (Cloud Run's K_REVISION), or null when there is none. */
  revision: z.string().max(200).nullable(),
});

/** The persisted lease (JSON). Wall-clock times in it are for people only, never compared. */
export const LeaseRecordSchema = z.object({
  version: z.literal(1),
  /** Incremented by every acquisition; recorded in the database by each writer. */
  epoch: z.number().int().min(0),
  /** The holder's time to live; contenders wait this (+ a margin) on their own clock. */
  ttlMs: z.number().int().positive(),
  /** Null when released. */
  holder: Party.extend({ since: z.string() }).nullable(),
  /** A contender of another revision asking the holder to hand over (a deploy or rollback). */
  handover: Party.extend({ requestedAt: z.string() }).nullable(),
  /**
   * When the holder began serving (informational time; what counts is that it is set). A
   * retired holder watching its successor (successor-watch.ts) tells a successor that served
   * from one that failed before it did. Optional: records written before it existed lack it.
   */
  servingSince: z.string().nullable().optional(),
  /** Wall-clock time of the last write (informational). */
  writtenAt: z.string(),
});

/** The persisted lease. */
export type LeaseRecord = z.infer<typeof LeaseRecordSchema>;

/** A record as read, with the generation a conditional write must name. */
export interface StoredLease {
  record: LeaseRecord;
  generation: string;
}

/** The port: compare-and-swap on one record. */
export interface LeaseStore {
  /** The current record, or undefined when there is none. */
  read(): Promise<StoredLease | undefined>;
  /**
   * Replaces the record if its generation is still `ifGeneration` (`ABSENT`:
   * only if there is none) and returns the new generation. Rejects with
   * AppError `CONFLICT` when the precondition does not hold.
   */
  write(record: LeaseRecord, ifGeneration: string): Promise<string>;
  /** Releases resources (connections, file handles). */
  close(): Promise<void>;
}
