/**
 * The regeneration tables (migrations 009, 010, 012, 024, 027 and 029): runs, their items (one per
 * image and preset version), deferred deletions of replaced variant sets, and the
 * measured cost per preset version. One prepared statement per operation;
 * the regenerator (regen/regenerator.ts) composes them into transactions.
 */
import type { Db } from './open-database.ts';

/** Status of a run. */
export type RegenRunStatus = 'running' | 'paused' | 'cancelled' | 'done' | 'capped';
/** State of one image in a run. */
export type RegenItemState = 'pending' | 'dispatched' | 'done' | 'failed' | 'cancelled';

/** A row of `regen_runs`. */
export interface RegenRunRow {
  id: number;
  preset: string;
  preset_version: string;
  filter: string;
  status: RegenRunStatus;
  status_reason: string | null;
  total: number;
  max_executions: number;
  max_failures: number;
  executions: number;
  estimate_cpu_seconds: number;
  estimate_cost_usd: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** When the current pause began (epoch ms, migration 029); null while not paused. */
  paused_at: number | null;
  /** Paused time after the first dispatch, added up at each resume (migration 029). */
  paused_ms: number;
}

/** A row of `regen_items`. */
export interface RegenItemRow {
  id: number;
  run_id: number;
  image_id: string;
  preset: string;
  preset_version: string;
  state: RegenItemState;
  generation: number | null;
  megapixels: number;
  cpu_ms: number | null;
  error_code: string | null;
  dispatched_at: number | null;
  /** When the processor's `started` for `generation` was first accepted; null while never begun. */
  started_at: number | null;
  finished_at: number | null;
  /** The key of the task and execution carrying `generation` (migration 012); null until the relay sent it. */
  dispatch_key: string | null;
  /** When a look-up last found its dispatch waiting or running (migration 027); null until then. */
  alive_at: number | null;
}

/** The runs: created, looked up, moved between statuses, their executions counted. */
function createRunQueries(db: Db) {
  const insertRun = db.prepare(
    `INSERT INTO regen_runs (preset, preset_version, filter, status, total, max_executions,
       max_failures, estimate_cpu_seconds, estimate_cost_usd, created_at, updated_at)
     VALUES (@preset, @presetVersion, @filter, 'running', @total, @maxExecutions, @maxFailures,
       @cpuSeconds, @costUsd, @now, @now)`,
  );
  const runById = db.prepare<[number], RegenRunRow>('SELECT * FROM regen_runs WHERE id = ?');
  const active = db.prepare<[], RegenRunRow>(
    `SELECT * FROM regen_runs WHERE status IN ('running', 'paused') ORDER BY id DESC LIMIT 1`,
  );
  const latest = db.prepare<[number], RegenRunRow>(
    'SELECT * FROM regen_runs ORDER BY id DESC LIMIT ?',
  );
  const setStatus = db.prepare<[string, string | null, string, string | null, number, string]>(
    `UPDATE regen_runs SET status = ?, status_reason = ?, updated_at = ?, finished_at = ?
     WHERE id = ? AND status = ?`,
  );
  const countExecution = db.prepare<[string, number]>(
    'UPDATE regen_runs SET executions = executions + 1, updated_at = ? WHERE id = ?',
  );
  const recordPause = db.prepare<[number, number]>(
    'UPDATE regen_runs SET paused_at = ? WHERE id = ?',
  );
  // Only the part after the first dispatch counts: the pace is measured from there.
  const recordResume = db.prepare<[{ now: number; from: number; id: number }]>(
    `UPDATE regen_runs SET paused_ms = paused_ms + max(0, @now - max(paused_at, @from)),
       paused_at = NULL
     WHERE id = @id AND paused_at IS NOT NULL`,
  );
  const uncountExecutions = db.prepare<[number, string, number]>(
    'UPDATE regen_runs SET executions = max(0, executions - ?), updated_at = ? WHERE id = ?',
  );

  return {
    /** Creates a run in status `running`; returns its id. */
    insertRun: (run: {
      preset: string;
      presetVersion: string;
      filter: string;
      total: number;
      maxExecutions: number;
      maxFailures: number;
      cpuSeconds: number;
      costUsd: number;
      now: string;
    }): number => Number(insertRun.run(run).lastInsertRowid),
    run: (id: number): RegenRunRow | undefined => runById.get(id),
    /** The run that is running or paused, if any (at most one is). */
    active: (): RegenRunRow | undefined => active.get(),
    /** The newest runs. */
    latest: (limit: number): RegenRunRow[] => latest.all(limit),
    /** Moves a run from `from` to `status`; false when it was not in `from`. */
    setStatus: (
      id: number,
      from: RegenRunStatus,
      status: RegenRunStatus,
      reason: string | null,
      now: string,
      finished: boolean,
    ): boolean => setStatus.run(status, reason, now, finished ? now : null, id, from).changes === 1,
    /** One more dispatch of the run written to the outbox. */
    countExecution: (id: number, now: string): void => {
      countExecution.run(now, id);
    },
    /** The run was paused at `now`. */
    recordPause: (id: number, now: number): void => {
      recordPause.run(now, id);
    },
    /** The run resumed at `now`: its pause since `firstDispatchAt` (none before it) is added up. */
    recordResume: (id: number, now: number, firstDispatchAt: number | null): void => {
      recordResume.run({ now, from: firstDispatchAt ?? now, id });
    },
    /** Takes back `n` counted dispatches that were withdrawn before they reached the queue. */
    uncountExecutions: (id: number, n: number, now: string): void => {
      uncountExecutions.run(n, now, id);
    },
  };
}

/** What is known about a run's items and every run's dispatches: counts, the next to send, the stuck. */
function createItemQueries(db: Db) {
  const itemCounts = db.prepare<[number], { state: RegenItemState; n: number; cpu: number | null }>(
    'SELECT state, count(*) AS n, sum(cpu_ms) AS cpu FROM regen_items WHERE run_id = ? GROUP BY state',
  );
  const firstDispatch = db.prepare<[number], { t: number | null }>(
    'SELECT min(dispatched_at) AS t FROM regen_items WHERE run_id = ?',
  );
  const pending = db.prepare<[number, number], RegenItemRow>(
    `SELECT * FROM regen_items WHERE run_id = ? AND state = 'pending' ORDER BY id LIMIT ?`,
  );
  const inFlight = db.prepare<[], { n: number }>(
    `SELECT count(*) AS n FROM regen_items WHERE state = 'dispatched'`,
  );
  const dispatchedSince = db.prepare<[number], { n: number }>(
    'SELECT count(*) AS n FROM regen_items WHERE dispatched_at >= ?',
  );
  const itemByGeneration = db.prepare<[string, number], RegenItemRow>(
    'SELECT * FROM regen_items WHERE image_id = ? AND generation = ?',
  );
  const ofRunInState = db.prepare<[number, string], RegenItemRow>(
    'SELECT * FROM regen_items WHERE run_id = ? AND state = ?',
  );
  const overdue = db.prepare<[number, number, number, number], RegenItemRow>(
    `SELECT * FROM regen_items WHERE state = 'dispatched' AND id > ?
       AND ((dispatch_key IS NOT NULL AND dispatched_at < ?) OR coalesce(alive_at, dispatched_at) < ?)
     ORDER BY id LIMIT ?`,
  );
  const inOutbox = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM outbox WHERE image_id = ? AND generation = ?',
  );

  return {
    /** Items per state of a run, and the CPU its finished items reported. */
    counts: (runId: number) => {
      const out = { pending: 0, dispatched: 0, done: 0, failed: 0, cancelled: 0, cpuMs: 0 };
      for (const r of itemCounts.all(runId)) {
        out[r.state] = r.n;
        out.cpuMs += r.cpu ?? 0;
      }
      return out;
    },
    firstDispatchAt: (runId: number): number | null => firstDispatch.get(runId)?.t ?? null,
    pending: (runId: number, limit: number): RegenItemRow[] => pending.all(runId, limit),
    inFlight: (): number => inFlight.get()?.n ?? 0,
    dispatchedSince: (since: number): number => dispatchedSince.get(since)?.n ?? 0,
    /** The item a report for `generation` of the image is about, if it is a regeneration's. */
    itemFor: (imageId: string, generation: number): RegenItemRow | undefined =>
      itemByGeneration.get(imageId, generation),
    ofRunInState: (runId: number, state: RegenItemState): RegenItemRow[] =>
      ofRunInState.all(runId, state),
    /**
     * Dispatched items to look up, after id `afterId`, by id: those the relay sent (a dispatch
     * key) before `sentBefore`, and those nothing was heard of — no report, not found alive —
     * since `quietSince` (migration 027's alive_at, else dispatched_at).
     */
    overdue: (afterId: number, sentBefore: number, quietSince: number, limit: number) =>
      overdue.all(afterId, sentBefore, quietSince, limit),
    /** Whether the outbox still holds the dispatch of the image's `generation` (the relay has not sent it). */
    inOutbox: (imageId: string, generation: number): boolean =>
      (inOutbox.get(imageId, generation)?.n ?? 0) > 0,
  };
}

/**
 * An item's way through its states: added pending (by the run's
 * `INSERT … SELECT`, regen/selection.ts), dispatched, finished, or
 * taken back (its outbox row withdrawn, the item pending again) or cancelled.
 */
function createItemTransitions(db: Db) {
  // A new generation has not been begun by any attempt yet, whatever an earlier dispatch did,
  // and is carried by a dispatch the relay has yet to send (it records the key).
  const markDispatched = db.prepare<[number, number, number]>(
    `UPDATE regen_items SET state = 'dispatched', generation = ?, dispatched_at = ?,
       started_at = NULL, dispatch_key = NULL, alive_at = NULL
     WHERE id = ? AND state = 'pending'`,
  );
  const recordDispatchKey = db.prepare<[string, string, number]>(
    `UPDATE regen_items SET dispatch_key = ?
     WHERE image_id = ? AND generation = ? AND state = 'dispatched'`,
  );
  const markAlive = db.prepare<[number, number, number]>(
    `UPDATE regen_items SET alive_at = ? WHERE id = ? AND generation = ? AND state = 'dispatched'`,
  );
  const markStarted = db.prepare<[number, number]>(
    `UPDATE regen_items SET started_at = coalesce(started_at, ?)
     WHERE id = ? AND state = 'dispatched'`,
  );
  const finish = db.prepare<[string, string | null, number | null, number, number]>(
    `UPDATE regen_items SET state = ?, error_code = ?, cpu_ms = coalesce(?, cpu_ms),
       finished_at = ? WHERE id = ?`,
  );
  const cancelPending = db.prepare<[number, number]>(
    `UPDATE regen_items SET state = 'cancelled', finished_at = ? WHERE run_id = ? AND state = 'pending'`,
  );
  const backToPending = db.prepare<[number]>(
    `UPDATE regen_items SET state = 'pending', generation = NULL, dispatched_at = NULL,
       alive_at = NULL
     WHERE id = ? AND state = 'dispatched'`,
  );
  const withdrawOutbox = db.prepare<[string, number]>(
    'DELETE FROM outbox WHERE image_id = ? AND generation = ? AND batch_key IS NULL',
  );

  return {
    markDispatched: (id: number, generation: number, now: number): boolean =>
      markDispatched.run(generation, now, id).changes === 1,
    /** The relay sent the task carrying the image's `generation` under `key`; false when that is no regeneration in flight. */
    recordDispatchKey: (imageId: string, generation: number, key: string): boolean =>
      recordDispatchKey.run(key, imageId, generation).changes === 1,
    /** A look-up found the dispatch of the item's `generation` waiting or running: REGEN_STUCK_AFTER_MS counts from `now`. */
    markAlive: (id: number, generation: number, now: number): boolean =>
      markAlive.run(now, id, generation).changes === 1,
    /** Records that an attempt began a dispatched item (the first time counts); false when it is not in flight. */
    markStarted: (id: number, now: number): boolean => markStarted.run(now, id).changes === 1,
    finish: (
      id: number,
      state: 'done' | 'failed' | 'cancelled',
      code: string | null,
      cpuMs: number | null,
      now: number,
    ): void => {
      finish.run(state, code, cpuMs, now, id);
    },
    cancelPending: (runId: number, now: number): number => cancelPending.run(now, runId).changes,
    backToPending: (id: number): boolean => backToPending.run(id).changes === 1,
    /** Removes an outbox row the relay has not put in a batch yet; true when there was one. */
    withdrawOutbox: (imageId: string, generation: number): boolean =>
      withdrawOutbox.run(imageId, generation).changes === 1,
  };
}

/** Replaced variant sets waiting for their grace period to end. */
function createDeletionQueries(db: Db) {
  const addDeletion = db.prepare<[string, string, number, number]>(
    `INSERT INTO deferred_deletions (prefix, image_id, delete_after, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (prefix) DO NOTHING`,
  );
  const dueDeletions = db.prepare<
    [number, number],
    { id: number; prefix: string; image_id: string }
  >(
    'SELECT id, prefix, image_id FROM deferred_deletions WHERE delete_after <= ? ORDER BY id LIMIT ?',
  );
  const pendingDeletions = db.prepare<[], { n: number; next: number | null }>(
    'SELECT count(*) AS n, min(delete_after) AS next FROM deferred_deletions',
  );
  const removeDeletion = db.prepare<[number]>('DELETE FROM deferred_deletions WHERE id = ?');
  // A range over the unique index on prefix (image_id has none): every key starting with the
  // first bound sorts below the second, which is the first with its last character bumped.
  const removeDeletionsUnder = db.prepare<[string, string]>(
    'DELETE FROM deferred_deletions WHERE prefix >= ? AND prefix < ?',
  );

  return {
    /** Schedules `prefix`; false when it was scheduled already (the earlier schedule stands). */
    addDeletion: (prefix: string, imageId: string, deleteAfter: number, now: number): boolean =>
      addDeletion.run(prefix, imageId, deleteAfter, now).changes === 1,
    dueDeletions: (now: number, limit: number) => dueDeletions.all(now, limit),
    pendingDeletions: () => {
      const r = pendingDeletions.get();
      return { count: r?.n ?? 0, nextAt: r?.next ?? null };
    },
    removeDeletion: (id: number): void => {
      removeDeletion.run(id);
    },
    /** Forgets every scheduled set whose prefix starts with `under` (e.g. all of one image's). */
    removeDeletionsUnder: (under: string): number => {
      const end = `${under.slice(0, -1)}${String.fromCharCode(under.charCodeAt(under.length - 1) + 1)}`;
      return removeDeletionsUnder.run(under, end).changes;
    },
  };
}

/**
 * Sums over one preset version's measured images, or over every other version's
 * (migration 024's fit_* columns): n, Σx, Σy, Σx², Σxy, Σy² with x the source
 * megapixels and y the processor's CPU seconds.
 */
export interface CostMoments {
  n: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
  syy: number;
}

/** The measured cost per preset version, which the estimates read. */
function createCostQueries(db: Db) {
  // 009's sums keep being written: an older backend rolled back onto the file reads them.
  // The fit's take an image of a known size only (@fit 1, else 0), as migration 024 does.
  const addCost = db.prepare(
    `INSERT INTO preset_costs (preset_version, preset, images, megapixels, cpu_ms, fit_images,
       fit_mp, fit_cpu_s, fit_mp_mp, fit_mp_cpu_s, fit_cpu_s_cpu_s)
     VALUES (@version, @preset, 1, @megapixels, @cpuMs, @fit, @fit * @megapixels,
       @fit * @cpuMs / 1000.0, @fit * @megapixels * @megapixels,
       @fit * @megapixels * @cpuMs / 1000.0, @fit * @cpuMs * @cpuMs / 1e6)
     ON CONFLICT (preset_version) DO UPDATE SET images = images + 1,
       megapixels = megapixels + excluded.megapixels, cpu_ms = cpu_ms + excluded.cpu_ms,
       fit_images = fit_images + excluded.fit_images, fit_mp = fit_mp + excluded.fit_mp,
       fit_cpu_s = fit_cpu_s + excluded.fit_cpu_s, fit_mp_mp = fit_mp_mp + excluded.fit_mp_mp,
       fit_mp_cpu_s = fit_mp_cpu_s + excluded.fit_mp_cpu_s,
       fit_cpu_s_cpu_s = fit_cpu_s_cpu_s + excluded.fit_cpu_s_cpu_s`,
  );
  // One row per side (this version, the others), over a table of one row per version.
  const moments = db.prepare<[string], CostMoments & { own: number }>(
    `SELECT preset_version = ? AS own, sum(fit_images) AS n, sum(fit_mp) AS sx,
       sum(fit_cpu_s) AS sy, sum(fit_mp_mp) AS sxx, sum(fit_mp_cpu_s) AS sxy,
       sum(fit_cpu_s_cpu_s) AS syy
     FROM preset_costs GROUP BY own`,
  );
  const none: CostMoments = { n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0, syy: 0 };

  return {
    /** Adds a processed image's CPU; one of no known size (0 MP) stays out of the fit's sums. */
    addCost: (cost: { version: string; preset: string; megapixels: number; cpuMs: number }) => {
      addCost.run({ ...cost, fit: cost.megapixels > 0 ? 1 : 0 });
    },
    /** The measured sums of `version` and of every other version together. */
    costMoments: (version: string): { own: CostMoments; others: CostMoments } => {
      const rows = moments.all(version);
      const side = (own: number): CostMoments => {
        const row = rows.find((r) => r.own === own);
        return row
          ? { n: row.n, sx: row.sx, sy: row.sy, sxx: row.sxx, sxy: row.sxy, syy: row.syy }
          : none;
      };
      return { own: side(1), others: side(0) };
    },
  };
}

/** Creates the repository over `db`: runs, items, deferred deletions and costs. */
export function createRegenRepository(db: Db) {
  return {
    ...createRunQueries(db),
    ...createItemQueries(db),
    ...createItemTransitions(db),
    ...createDeletionQueries(db),
    ...createCostQueries(db),
  };
}

/** The regeneration repository. */
export type RegenRepository = ReturnType<typeof createRegenRepository>;
