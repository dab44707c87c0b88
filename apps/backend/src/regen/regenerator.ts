/**
 * Regeneration (docs/operations.md, "Presets and regeneration"): re-make the
 * variants of processed images whose served set was made with another preset
 * version than the current one, safely.
 *
 * - Durable: a run and each of its images (regen_items) are SQLite rows; the
 *   worker's every step is a transaction, so a backend killed mid-run carries
 *   on from the rows when it starts again.
 * - Through the ingest queue: each image gets an outbox row on the `ingest`
 *   queue at a generation of its own (above the image's and every earlier
 *   regeneration's), so the relay sends them in batch executions and a late
 *   report of any other attempt is stale.
 * - Atomic per image: the image keeps serving its old set while the new one is
 *   made under its own prefix; the processor's `complete` switches preset,
 *   generation and manifest in one statement, and the old prefix is deleted
 *   after `graceMs` (deferred_deletions). A failure leaves the old set serving
 *   and a failed_tasks row with source `regenerate`.
 * - Cannot run away: at most `ratePerMinute` dispatches a minute and
 *   `maxInFlight` at once; a run stops as `capped` at `maxExecutionsPerRun`
 *   dispatches or `maxFailures` failures; no more than `maxExecutionsPerHour`
 *   dispatches in any hour; each (image, preset version) is made once; only
 *   this API starts processing (variants written never trigger any).
 */

import type { CompleteBody, FailedBody, JobSpec } from '@slideshow/contracts';
import { taskNameFor } from '@slideshow/dispatch';
import { type PresetSet, presetClosure, presetVersion } from '@slideshow/imaging/presets';
import { AppError, coerceError, type Logger } from '@slideshow/runtime';
import type { ObjectStore } from '@slideshow/storage';
import type { ImageRow } from '../db/images-repository.ts';
import type { Db } from '../db/open-database.ts';
import type { RegenFilter, RegenItemRow, RegenRunRow } from '../db/regen-repository.ts';
import { variantPrefix } from '../keys.ts';
import type { Repositories } from '../repositories.ts';
import { recordCost } from '../transitions/callbacks.ts';
import type { Transition } from '../transitions/context.ts';
import { cpuPerMegapixel, type Estimate, estimate, round, taskCost } from './estimate.ts';
import { selectCandidates } from './selection.ts';

/** The regenerator's policy (env: REGEN_*; backend README "Configuration"). */
export interface RegenSettings {
  /** How often the worker dispatches, times out and deletes. */
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
  /** A dispatched regeneration with no report after this long fails (`STUCK`). */
  stuckAfterMs: number;
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
});

/** The presets the backend runs with: a validated file and the chosen one. */
export interface BackendPresets {
  set: PresetSet;
  /** The preset new uploads get and regenerations make (IMAGE_PRESET, else the file's default). */
  current: string;
}

/** What {@link createRegenerator} needs. */
export interface RegeneratorDeps {
  db: Db;
  repos: Repositories;
  store: ObjectStore;
  presets: BackendPresets;
  settings: RegenSettings;
  logger: Logger;
  now: () => number;
  /** Wakes the outbox relay after rows were added. */
  onEnqueued?: () => void;
}

const HOUR_MS = 3_600_000;

/** A run as the API, the admin page and `/status` show it. */
export interface RunView {
  id: number;
  status: RegenRunRow['status'];
  reason: string | null;
  preset: string;
  presetVersion: string;
  filter: RegenFilter;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  inFlight: number;
  remaining: number;
  executions: number;
  caps: { executionsPerRun: number; failures: number; executionsPerHour: number };
  /** Seconds until the rest is done at the pace so far; null before anything finished. */
  etaSeconds: number | null;
  estimate: { cpuSeconds: number; costUsd: number };
  measured: { images: number; cpuSeconds: number; costUsd: number };
  createdAt: string;
  finishedAt: string | null;
}

/** Creates the regenerator over `deps` (its worker is started by `start()`). */
export function createRegenerator(deps: RegeneratorDeps) {
  const { db, repos, store, settings, logger } = deps;
  const regen = repos.regen;
  const iso = () => new Date(deps.now()).toISOString();
  const version = presetVersion(deps.presets.set, deps.presets.current);
  const current = deps.presets.current;

  const view = (run: RegenRunRow): RunView => {
    const c = regen.counts(run.id);
    const remaining = c.pending + c.dispatched;
    const finished = c.done + c.failed;
    const first = regen.firstDispatchAt(run.id);
    const elapsed = first === null ? 0 : (deps.now() - first) / 1000;
    const etaSeconds =
      finished > 0 && remaining > 0 && (run.status === 'running' || run.status === 'paused')
        ? Math.round((elapsed / finished) * remaining)
        : remaining === 0
          ? 0
          : null;
    const measuredCpu = c.cpuMs / 1000;
    return {
      id: run.id,
      status: run.status,
      reason: run.status_reason,
      preset: run.preset,
      presetVersion: run.preset_version,
      filter: JSON.parse(run.filter) as RegenFilter,
      total: run.total,
      done: c.done,
      failed: c.failed,
      cancelled: c.cancelled,
      inFlight: c.dispatched,
      remaining,
      executions: run.executions,
      caps: {
        executionsPerRun: run.max_executions,
        failures: run.max_failures,
        executionsPerHour: settings.maxExecutionsPerHour,
      },
      etaSeconds,
      estimate: { cpuSeconds: run.estimate_cpu_seconds, costUsd: run.estimate_cost_usd },
      measured: {
        images: c.done,
        cpuSeconds: round(measuredCpu, 2),
        costUsd: round(measuredCostOf(run.id), 6),
      },
      createdAt: run.created_at,
      finishedAt: run.finished_at,
    };
  };

  const measuredCostOf = (runId: number): number =>
    regen
      .ofRunInState(runId, 'done')
      .reduce((sum, item) => sum + (item.cpu_ms === null ? 0 : taskCost(item.cpu_ms / 1000)), 0);

  const dryRun = (filter: RegenFilter) => {
    const candidates = selectCandidates(db, filter, version);
    const figures: Estimate = estimate(
      candidates.map((c) => c.megapixels),
      cpuPerMegapixel(regen, version),
    );
    return { preset: current, presetVersion: version, filter, ...figures };
  };

  const startRun = db.transaction(
    (
      filter: RegenFilter,
      caps: { maxExecutions?: number | undefined; maxFailures?: number | undefined },
    ): RunView => {
      if (regen.active()) {
        throw new AppError(
          'CONFLICT',
          'a regeneration is already running or paused; finish or cancel it first',
        );
      }
      const candidates = selectCandidates(db, filter, version);
      const figures = estimate(
        candidates.map((c) => c.megapixels),
        cpuPerMegapixel(regen, version),
      );
      const runId = regen.insertRun({
        preset: current,
        presetVersion: version,
        filter: JSON.stringify(filter),
        total: candidates.length,
        // A run may lower the configured caps, never raise them.
        maxExecutions: Math.min(
          settings.maxExecutionsPerRun,
          caps.maxExecutions ?? Number.POSITIVE_INFINITY,
        ),
        maxFailures: Math.min(settings.maxFailures, caps.maxFailures ?? Number.POSITIVE_INFINITY),
        cpuSeconds: figures.cpuSeconds,
        costUsd: figures.costUsd,
        now: iso(),
      });
      for (const c of candidates) {
        regen.addItem({
          runId,
          imageId: c.id,
          preset: current,
          presetVersion: version,
          megapixels: c.megapixels,
        });
      }
      if (candidates.length === 0)
        regen.setStatus(runId, 'running', 'done', 'nothing to regenerate', iso(), true);
      return view(regen.run(runId) as RegenRunRow);
    },
  );

  const load = (id: number): RegenRunRow => {
    const run = regen.run(id);
    if (!run) throw new AppError('NOT_FOUND', `no regeneration run ${id}`);
    return run;
  };

  /** Takes back the run's dispatches the relay has not batched yet: they go back to pending. */
  const withdrawUnsent = (runId: number): number => {
    let withdrawn = 0;
    for (const item of regen.ofRunInState(runId, 'dispatched')) {
      if (item.generation !== null && regen.withdrawOutbox(item.image_id, item.generation)) {
        regen.backToPending(item.id);
        withdrawn++;
      }
    }
    return withdrawn;
  };

  const pause = db.transaction((id: number): RunView => {
    const run = load(id);
    if (!regen.setStatus(id, 'running', 'paused', 'paused by an admin', iso(), false)) {
      throw new AppError(
        'CONFLICT',
        `run ${id} is ${run.status}; only a running run can be paused`,
      );
    }
    withdrawUnsent(id);
    return view(load(id));
  });

  const resume = db.transaction((id: number): RunView => {
    const run = load(id);
    if (!regen.setStatus(id, 'paused', 'running', null, iso(), false)) {
      throw new AppError(
        'CONFLICT',
        `run ${id} is ${run.status}; only a paused run can be resumed`,
      );
    }
    return view(load(id));
  });

  /** Ends a run: unsent dispatches withdrawn, pending items cancelled (a later run may take them). */
  const end = (run: RegenRunRow, status: 'cancelled' | 'capped', reason: string): boolean => {
    if (!regen.setStatus(run.id, run.status, status, reason, iso(), true)) return false;
    withdrawUnsent(run.id);
    regen.cancelPending(run.id, deps.now());
    return true;
  };

  const cancel = db.transaction((id: number): RunView => {
    const run = load(id);
    if (run.status !== 'running' && run.status !== 'paused') {
      throw new AppError('CONFLICT', `run ${id} is already ${run.status}`);
    }
    end(run, 'cancelled', 'cancelled by an admin');
    return view(load(id));
  });

  // ---- the worker ---------------------------------------------------------------------------

  let carry = 0;
  let lastTick = deps.now();

  /** Dispatches what the rate, the in-flight bound and the caps allow; ends a run that is done or capped. */
  const dispatchStep = db.transaction((): number => {
    const run = regen.active();
    const now = deps.now();
    carry = Math.min(
      settings.ratePerMinute,
      carry + ((now - lastTick) / 60_000) * settings.ratePerMinute,
    );
    lastTick = now;
    if (run?.status !== 'running') return 0;
    const c = regen.counts(run.id);
    if (c.failed >= run.max_failures) {
      end(
        run,
        'capped',
        `stopped after ${c.failed} failed images (cap ${run.max_failures}); their old variants keep serving`,
      );
      logger.error('regeneration capped: too many failures', { runId: run.id, failed: c.failed });
      return 0;
    }
    if (c.pending === 0) {
      if (c.dispatched === 0) regen.setStatus(run.id, 'running', 'done', null, iso(), true);
      return 0;
    }
    const leftInRun = run.max_executions - run.executions;
    if (leftInRun <= 0) {
      end(
        run,
        'capped',
        `stopped at the cap of ${run.max_executions} executions per run with ${c.pending} images not dispatched`,
      );
      logger.error('regeneration capped: executions per run', {
        runId: run.id,
        executions: run.executions,
      });
      return 0;
    }
    const leftThisHour = settings.maxExecutionsPerHour - regen.dispatchedSince(now - HOUR_MS);
    const budget = Math.min(
      Math.floor(carry),
      settings.maxInFlight - regen.inFlight(),
      leftInRun,
      leftThisHour,
    );
    if (budget <= 0) return 0;
    let sent = 0;
    for (const item of regen.pending(run.id, budget)) {
      const image = repos.images.get(item.image_id);
      if (image?.status !== 'processed') {
        // Deleted, or being processed again: the item has nothing to replace.
        regen.finish(item.id, 'cancelled', image ? 'NOT_PROCESSED' : 'NOT_FOUND', null, now);
        continue;
      }
      const generation = Math.max(image.generation, regen.maxGeneration(image.id) ?? 0) + 1;
      regen.markDispatched(item.id, generation, now);
      repos.outbox.add({
        imageId: image.id,
        generation,
        queue: 'ingest',
        taskName: taskNameFor(image.id, generation),
        now,
      });
      regen.countExecution(run.id, iso());
      sent++;
    }
    carry -= sent;
    return sent;
  });

  /** Dispatched regenerations nothing was heard of for `stuckAfterMs` fail (`STUCK`). */
  const timeoutStep = db.transaction((): number => {
    const now = deps.now();
    const stuck = regen.stuck(now - settings.stuckAfterMs, 100);
    for (const item of stuck) {
      failItem(
        item,
        'STUCK',
        `no report ${Math.round(settings.stuckAfterMs / 1000)} s after dispatch`,
        null,
      );
    }
    return stuck.length;
  });

  /** Deletes replaced variant sets whose grace period is over (never the set an image serves). */
  const deleteStep = async (): Promise<number> => {
    let deleted = 0;
    for (const due of regen.dueDeletions(deps.now(), 50)) {
      const image = repos.images.get(due.image_id);
      const serving = image ? variantPrefix(image.id, image.preset, image.generation) : undefined;
      if (serving !== due.prefix) await store.deletePrefix(due.prefix);
      regen.removeDeletion(due.id);
      deleted++;
    }
    return deleted;
  };

  /** One pass of the worker; returns what it did (tests call it directly). */
  const tick = async () => {
    const dispatched = dispatchStep();
    if (dispatched > 0) deps.onEnqueued?.();
    const timedOut = timeoutStep();
    const deleted = await deleteStep();
    return { dispatched, timedOut, deleted };
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  const loop = () => {
    if (stopped) return;
    running = tick()
      .catch((error: unknown) =>
        logger.error('regeneration pass failed', { error: coerceError(error) }),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(loop, settings.intervalMs);
      });
  };

  // ---- the processor's callbacks for a regeneration's generation ---------------------------

  /** Records a failed regeneration: the item, a failed_tasks row (source regenerate), the new prefix to delete. */
  const failItem = (
    item: RegenItemRow,
    code: string,
    message: string,
    execution: string | null,
  ) => {
    const now = deps.now();
    regen.finish(item.id, 'failed', code, null, now);
    repos.failedTasks.record({
      imageId: item.image_id,
      code,
      message:
        `regeneration to ${item.preset} (${item.preset_version}) failed; the old variants keep serving: ${message}`.slice(
          0,
          2000,
        ),
      execution,
      source: 'regenerate',
      now: iso(),
    });
    if (item.generation !== null) {
      regen.addDeletion(
        variantPrefix(item.image_id, item.preset, item.generation),
        item.image_id,
        now + settings.graceMs,
        now,
      );
    }
  };

  /** The job spec of a regeneration's generation, or undefined when `generation` is not one. */
  const jobSpec = (row: ImageRow, generation: number): JobSpec | undefined => {
    const item = regen.itemFor(row.id, generation);
    if (item?.state !== 'dispatched') return undefined;
    const closure = presetClosure(deps.presets.set, item.preset);
    return {
      imageId: row.id,
      generation,
      sourceKey: row.source_key,
      sha256: row.sha256,
      preset: item.preset,
      presets: closure as unknown as Record<string, Record<string, unknown>>,
      presetVersion: item.preset_version,
      variantPrefix: variantPrefix(row.id, item.preset, generation),
      status: 'regenerating',
    };
  };

  const complete = db.transaction((id: string, body: CompleteBody): Transition | undefined => {
    const item = regen.itemFor(id, body.generation);
    if (!item) return undefined;
    if (item.state === 'done') return { applied: false, reason: 'regeneration already switched' };
    // Only a dispatched item switches. A failed one (STUCK, or told failed) already counted
    // against the failure cap and had its new prefix scheduled for deletion: switching to
    // that set now could serve objects the grace deletion is about to remove.
    if (item.state !== 'dispatched') {
      return { applied: false, reason: `regeneration is ${item.state}` };
    }
    const image = repos.images.get(id);
    const r = body.result;
    if (r.presetVersion !== undefined && r.presetVersion !== item.preset_version) {
      failItem(
        item,
        'VALIDATION_FAILED',
        `made with preset version ${r.presetVersion}, not ${item.preset_version}`,
        body.execution ?? null,
      );
      return { applied: false, reason: 'made with another preset version' };
    }
    const now = deps.now();
    const switched =
      image !== undefined &&
      repos.images.switchVariants(
        id,
        image.generation,
        body.generation,
        item.preset,
        {
          width: r.width,
          height: r.height,
          format: r.format,
          hasAlpha: r.hasAlpha,
          frames: r.frames,
          variants: JSON.stringify(r.variants),
          placeholder: r.placeholder,
          dominantColor: r.dominantColor,
          timings: JSON.stringify(r.timings),
          presetVersion: item.preset_version,
        },
        iso(),
      );
    if (!image || !switched) {
      regen.finish(item.id, 'cancelled', 'NOT_PROCESSED', r.timings.cpu ?? null, now);
      regen.addDeletion(
        variantPrefix(id, item.preset, body.generation),
        id,
        now + settings.graceMs,
        now,
      );
      return {
        applied: false,
        reason: 'the image is no longer processed; its new variants are discarded',
      };
    }
    regen.addDeletion(
      variantPrefix(id, image.preset, image.generation),
      id,
      now + settings.graceMs,
      now,
    );
    regen.finish(item.id, 'done', null, r.timings.cpu ?? null, now);
    recordCost(repos, image, { ...r, presetVersion: item.preset_version });
    repos.failedTasks.resolve(id, iso());
    return { applied: true };
  });

  const failed = db.transaction((id: string, body: FailedBody): Transition | undefined => {
    const item = regen.itemFor(id, body.generation);
    if (!item) return undefined;
    if (item.state !== 'dispatched')
      return { applied: false, reason: `regeneration is already ${item.state}` };
    failItem(item, body.code, `${body.source}: ${body.message}`, body.execution ?? null);
    return { applied: true };
  });

  const started = (id: string, generation: number): Transition | undefined => {
    const item = regen.itemFor(id, generation);
    if (!item) return undefined;
    return item.state === 'dispatched'
      ? { applied: true }
      : { applied: false, reason: `regeneration is ${item.state}` };
  };

  return {
    /** The current preset and its version. */
    preset: { name: current, version },
    dryRun,
    start: (
      filter: RegenFilter,
      caps: { maxExecutions?: number | undefined; maxFailures?: number | undefined } = {},
    ) => {
      const run = startRun(filter, caps);
      logger.info('regeneration started', {
        runId: run.id,
        total: run.total,
        preset: current,
        presetVersion: version,
      });
      return run;
    },
    pause,
    resume,
    cancel,
    view: (id: number) => view(load(id)),
    /** The active run, else the newest, for `/status` and the admin page. */
    latest: (): RunView | null => {
      const run = regen.active() ?? regen.latest(1)[0];
      return run ? view(run) : null;
    },
    list: (limit = 10) => regen.latest(limit).map(view),
    pendingDeletions: () => regen.pendingDeletions(),
    jobSpec,
    started,
    complete,
    failed,
    tick,
    /** Starts the periodic worker (idempotent). */
    startWorker() {
      if (!stopped) return;
      stopped = false;
      lastTick = deps.now();
      loop();
    },
    /** Stops the worker, waiting for a pass in progress. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** The regenerator. */
export type Regenerator = ReturnType<typeof createRegenerator>;
