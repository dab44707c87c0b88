/**
 * A backend for the regeneration tests (docs/operations.md, "Presets and
 * regeneration"): the real builder over a real SQLite file and folder store,
 * with processed images made through the real callbacks, the regenerator's
 * worker driven one pass at a time (`tick`) on the injected clock, and the
 * processor's reports for a regeneration's generation sent as HTTP callbacks.
 */
import {
  CallbackAnswer,
  ErrorAnswer,
  JobSpec,
  RegenDryRunAnswer,
  RegenRunAnswer,
  type WorkflowArgument,
} from '@slideshow/contracts';
import type { DispatchRequest, TaskCancellation, TaskDispatcher } from '@slideshow/dispatch';
import type { Logger } from '@slideshow/runtime';
import type { BackendPresets, RegenSettings } from '../src/regen/regenerator.ts';
import type { RunView } from '../src/regen/run-view.ts';
import {
  admin,
  callback,
  expectAnswer,
  makeApp,
  makePng,
  sampleResult,
  type TestApp,
  uploadFiles,
} from './helpers.ts';

/** A run as `GET /api/admin/regenerate/:run` shows it (the fields the tests read). */
export type RunJson = Pick<
  RunView,
  | 'id'
  | 'status'
  | 'reason'
  | 'total'
  | 'done'
  | 'failed'
  | 'cancelled'
  | 'inFlight'
  | 'remaining'
  | 'executions'
  | 'etaSeconds'
>;

/** One regeneration item as its row says. */
export interface ItemRow {
  image_id: string;
  state: string;
  generation: number | null;
  error_code: string | null;
}

/** The test backend and the steps the regeneration tests take with it. */
export interface RegenHarness {
  t: TestApp;
  /** Uploads and processes `n` images at generation 0 (preset version unknown: every run takes them). */
  processed(n: number): Promise<string[]>;
  /** `POST /api/admin/regenerate` with `body`. */
  post(body: Record<string, unknown>, status?: number): Promise<Record<string, unknown>>;
  start(body?: Record<string, unknown>): Promise<RunJson>;
  run(id: number): Promise<RunJson>;
  action(id: number, action: 'pause' | 'resume' | 'cancel', status?: number): Promise<RunJson>;
  /** One pass of the regenerator's worker after the clock moved `advanceMs`. */
  tick(advanceMs?: number): Promise<{ dispatched: number; deleted: number }>;
  items(state?: string): ItemRow[];
  /** `GET /api/processing/:id?generation=` as the processor asks a regeneration's job spec. */
  jobSpec(id: string, generation: number): Promise<Record<string, unknown>>;
  /** The processor's `started` for a regeneration. */
  started(id: string, generation: number): Promise<Record<string, unknown>>;
  /** The processor's `complete` for a regeneration (variants at that generation). */
  complete(id: string, generation: number): Promise<Record<string, unknown>>;
  /** The processor's `failed` for a regeneration. */
  fail(id: string, generation: number, code?: string): Promise<Record<string, unknown>>;
  /** Image ids and generations of the ingest-queue dispatches so far. */
  ingestDispatches(): { ids: string[]; generations: number[] }[];
  outboxRows(): number;
  /**
   * A new backend over the same database, store, dispatcher and clock, with
   * `presets` (a restart with an edited preset file); the first harness's
   * cleanup cleans up both.
   */
  restart(presets: BackendPresets): Promise<RegenHarness>;
}

/** The answer `POST /api/admin/regenerate` sends with `status`: a dry run, a run started, or an error. */
function regenerateAnswer(status: number) {
  if (status === 200) return RegenDryRunAnswer;
  return status === 202 ? RegenRunAnswer : ErrorAnswer;
}

/** `POST /api/admin/regenerate` with `body`, expecting `status` (and its answer's contract). */
async function postRegenerate(
  t: TestApp,
  body: Record<string, unknown>,
  status: number,
): Promise<Record<string, unknown>> {
  return expectAnswer(
    regenerateAnswer(status),
    await t.app.request('/api/admin/regenerate', {
      method: 'POST',
      headers: admin({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
    }),
    status,
  );
}

/** A processor callback (`started`, `complete` or `failed`) for the image. */
async function sendReport(
  t: TestApp,
  id: string,
  kind: 'started' | 'complete' | 'failed',
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return expectAnswer(
    CallbackAnswer,
    await t.app.request(`/api/processing/${id}/${kind}`, {
      method: 'POST',
      headers: callback(),
      body: JSON.stringify(body),
    }),
    200,
  );
}

/** Uploads `n` images and processes them at generation 0 through the `complete` callback. */
async function processedImages(t: TestApp, n: number): Promise<string[]> {
  const files = Array.from({ length: n }, (_, i) => ({
    name: `${i}.png`,
    bytes: makePng(16, 12, i + 1),
  }));
  const answer = await uploadFiles(t, files);
  const ids = answer.images.flatMap((i) => ('id' in i ? [i.id] : []));
  await t.relay.drain();
  for (const id of ids) {
    await sendReport(t, id, 'complete', { generation: 0, result: sampleResult() });
  }
  return ids;
}

/**
 * Builds the harness over a fresh backend with these regeneration and relay settings, and
 * optionally its own dispatcher (a dry-run one, whose look-ups a test may replace; only a
 * dry-run one records what `ingestDispatches` reads), task cancellation and logger.
 */
export async function regenHarness(
  regen: Partial<RegenSettings>,
  relay: { ingest?: number; batchWindowMs?: number } = {},
  deps: {
    dispatcher?: TaskDispatcher;
    taskCancellation?: TaskCancellation;
    logger?: Logger;
    presets?: BackendPresets;
  } = {},
): Promise<RegenHarness> {
  const options = {
    regen,
    relay: {
      imagesPerExecution: { uploads: 1, ingest: relay.ingest ?? 100 },
      batchWindowMs: relay.batchWindowMs ?? 0,
    },
    ...deps,
  };
  const t = await makeApp(options);
  const restart = async (presets: BackendPresets): Promise<RegenHarness> => {
    const next = await makeApp({
      ...options,
      db: t.db,
      store: t.store,
      dispatcher: t.dispatcher,
      presets,
      now: () => t.clock.now,
    });
    // makeApp opened a database and a folder of its own, which the new backend does not use.
    next.cleanup();
    return harnessOver(
      { ...next, db: t.db, store: t.store, clock: t.clock, cleanup: t.cleanup },
      restart,
    );
  };
  return harnessOver(t, restart);
}

/** The harness's steps over the test backend `t`. */
function harnessOver(
  t: TestApp,
  restart: (presets: BackendPresets) => Promise<RegenHarness>,
): RegenHarness {
  const post = (body: Record<string, unknown>, status = 202) => postRegenerate(t, body, status);
  const report = (
    id: string,
    kind: 'started' | 'complete' | 'failed',
    body: Record<string, unknown>,
  ) => sendReport(t, id, kind, body);
  return {
    t,
    processed: (n) => processedImages(t, n),
    post,
    async start(body = {}) {
      return ((await post(body)) as { run: RunJson }).run;
    },
    async run(id) {
      const answer = await expectAnswer(
        RegenRunAnswer,
        await t.app.request(`/api/admin/regenerate/${id}`, { headers: admin() }),
        200,
      );
      return answer.run;
    },
    async action(id, action, status = 200) {
      const answer = await expectAnswer(
        status === 200 ? RegenRunAnswer : ErrorAnswer,
        await t.app.request(`/api/admin/regenerate/${id}/${action}`, {
          method: 'POST',
          headers: admin(),
        }),
        status,
      );
      return (answer as { run: RunJson }).run;
    },
    async tick(advanceMs = 60_000) {
      t.clock.now += advanceMs;
      const result = await t.backend.services.regen.tick();
      await t.relay.drain();
      return result;
    },
    items(state) {
      const all = t.db
        .prepare<[], ItemRow>(
          'SELECT image_id, state, generation, error_code FROM regen_items ORDER BY id',
        )
        .all();
      return state === undefined ? all : all.filter((i) => i.state === state);
    },
    jobSpec: async (id, generation) =>
      expectAnswer(
        JobSpec,
        await t.app.request(`/api/processing/${id}?generation=${generation}`, {
          headers: callback(),
        }),
        200,
      ),
    started: (id, generation) =>
      report(id, 'started', { generation, execution: 'regen-exec', attempt: 0 }),
    complete: (id, generation) =>
      report(id, 'complete', { generation, result: sampleResult({ timings: { cpu: 40 } }) }),
    fail: (id, generation, code = 'CORRUPT_IMAGE') =>
      report(id, 'failed', { generation, code, message: 'the preset cannot be made' }),
    ingestDispatches: () =>
      t.dispatcher.dispatched
        .filter((d: DispatchRequest) => d.queue === 'ingest')
        .map((d: DispatchRequest) => {
          const argument: WorkflowArgument = d.argument;
          return 'file_ids' in argument
            ? { ids: argument.file_ids, generations: argument.generations }
            : { ids: [argument.file_id], generations: [argument.generation] };
        }),
    outboxRows: () =>
      t.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox').get()?.n ?? 0,
    restart,
  };
}
