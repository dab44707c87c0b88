/**
 * What every part of the regenerator shares (docs/operations.md, "Presets and
 * regeneration"): its policy (REGEN_*), the presets the backend runs with,
 * the database and repositories, the store, the clock, and the current
 * preset's name and version, computed once, and the dispatcher's look-ups.
 */
import { type PresetSet, presetVersion } from '@slideshow/imaging/presets';
import type { Logger } from '@slideshow/runtime';
import type { ObjectWriter } from '@slideshow/storage';
import type { Db } from '../db/open-database.ts';
import type { RegenRepository } from '../db/regen-repository.ts';
import type { DispatchLookups } from '../dispatch-whereabouts.ts';
import type { Repositories } from '../repositories.ts';

/** The regenerator's policy (env: REGEN_*; backend README "Configuration"). */
export interface RegenSettings {
  /** How often the worker dispatches and deletes. */
  intervalMs: number;
  /** Images dispatched per minute at most. */
  ratePerMinute: number;
  /** Regenerations dispatched and not yet reported, at most. */
  maxInFlight: number;
  /** A run stops (`capped`) after this many dispatches. */
  maxExecutionsPerRun: number;
  /** No more than this many dispatches in any hour, over all runs. */
  maxExecutionsPerHour: number;
  /** A run stops (`capped`) after this many failed images. */
  maxFailures: number;
  /** How long a replaced variant set stays in storage (pages and caches may still name it). */
  graceMs: number;
  /**
   * A dispatched regeneration with no report, and not found waiting or running
   * for this long, is looked up (regen/lost-dispatches.ts) even without a
   * dispatch key: it fails (`STUCK`) only when its dispatch is nowhere; one
   * found alive counts again from then.
   */
  stuckAfterMs: number;
  /**
   * A dispatched regeneration the relay sent this long ago and with no report
   * is looked up (regen/lost-dispatches.ts): it fails (`STUCK`) when its task
   * is gone and its workflow execution ended or is unknown.
   */
  lostAfterMs: number;
  /** How often those look-ups run. */
  lostCheckEveryMs: number;
}

/** Defaults of {@link RegenSettings}. */
export const REGEN_DEFAULTS: RegenSettings = Object.freeze({
  intervalMs: 2_000,
  ratePerMinute: 600,
  maxInFlight: 200,
  maxExecutionsPerRun: 10_000,
  maxExecutionsPerHour: 5_000,
  maxFailures: 50,
  graceMs: 24 * 3_600_000,
  stuckAfterMs: 6 * 3_600_000,
  // Well past a batch's usual run (minutes), and the look-up leaves a dispatch still queued or
  // running alone, so a healthy item is never failed by it however long it waits.
  lostAfterMs: 15 * 60_000,
  lostCheckEveryMs: 60_000,
});

/** The presets the backend runs with: a validated file and the chosen one. */
export interface BackendPresets {
  set: PresetSet;
  /** The preset new uploads get and regenerations make (IMAGE_PRESET, else the file's default). */
  current: string;
}

/** What the regenerator needs (regenerator.ts `createRegenerator`). */
export interface RegeneratorDeps {
  db: Db;
  repos: Repositories;
  /** Only written to: the grace deletion removes a superseded generation's prefix. */
  store: ObjectWriter;
  presets: BackendPresets;
  settings: RegenSettings;
  /** Where a regeneration's dispatch is looked up (the backend's TaskDispatcher). */
  dispatcher: DispatchLookups;
  logger: Logger;
  now: () => number;
  /** Wakes the outbox relay after rows were added. */
  onEnqueued?: () => void;
}

/** The deps with what the parts derive from them. */
export interface RegenContext extends RegeneratorDeps {
  regen: RegenRepository;
  /** The clock as ISO-8601, for the TEXT columns. */
  iso: () => string;
  /** The preset regenerations make, and its content hash. */
  current: string;
  version: string;
}

/** Derives the shared context from the deps. */
export function regenContext(deps: RegeneratorDeps): RegenContext {
  return {
    ...deps,
    regen: deps.repos.regen,
    iso: () => new Date(deps.now()).toISOString(),
    current: deps.presets.current,
    version: presetVersion(deps.presets.set, deps.presets.current),
  };
}
