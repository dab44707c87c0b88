/**
 * A regeneration run unfinished when the backend restarts with an edited
 * preset file (docs/operations.md, "Presets and regeneration"): the run is
 * superseded, not finished with the new file's settings under its old
 * version. Two backends in turn over one real SQLite file and folder store
 * through `app.request()`; the processor's check of the spec's hash is the
 * processor's own function (`closureVersion`).
 */
import { BUILT_IN_PRESETS } from '@slideshow/imaging/header';
import { closureVersion, type PresetSet, presetVersion } from '@slideshow/imaging/presets';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendPresets } from '../src/regen/regenerator.ts';
import { type RegenHarness, regenHarness } from './regen-harness.ts';

/** One preset of a file. */
type Preset = PresetSet['presets'][string];

/** The repository's presets with the default preset's WebP quality set to `quality`. */
function presetsWithWebpQuality(quality: number): BackendPresets {
  const name = BUILT_IN_PRESETS.default;
  const preset = BUILT_IN_PRESETS.presets[name]!;
  const edited: Preset = { ...preset, webp: { ...preset.webp, quality } };
  return {
    set: { ...BUILT_IN_PRESETS, presets: { ...BUILT_IN_PRESETS.presets, [name]: edited } },
    current: name,
  };
}

const A = presetsWithWebpQuality(78);
const B = presetsWithWebpQuality(77);
const versionB = presetVersion(B.set, B.current);

describe('a regeneration run the preset file superseded', () => {
  let h: RegenHarness | undefined;
  afterEach(() => h?.t.cleanup());

  /**
   * What the processor does with the job spec of a regeneration item: a spec
   * of another generation stops the task (nothing made, nothing reported); a
   * spec whose presets do not hash to its version is reported failed
   * (VALIDATION_FAILED), as apps/processor/src/run.ts does.
   */
  const processorAsks = async (at: RegenHarness, id: string, generation: number) => {
    const spec = await at.jobSpec(id, generation);
    if (spec.generation !== generation) return 'stopped';
    const presets = spec.presets as Record<string, Preset>;
    if (closureVersion(presets) !== spec.presetVersion) {
      await at.fail(id, generation, 'VALIDATION_FAILED');
      return 'failed';
    }
    return 'would process';
  };

  /** Open failed_tasks rows of source `regenerate`. */
  const regenerateFailures = (at: RegenHarness) =>
    at.t.db
      .prepare<[], { image_id: string }>(
        "SELECT image_id FROM failed_tasks WHERE source = 'regenerate' AND resolved_at IS NULL",
      )
      .all();

  it('ends at the first pass after the restart as cancelled, naming the new version; a dispatched image asking its job spec is cancelled, not failed', async () => {
    h = await regenHarness({ ratePerMinute: 2 }, {}, { presets: A });
    await h.processed(4);
    const run = await h.start();
    expect(run).toMatchObject({ status: 'running', total: 4 });
    expect((await h.tick()).dispatched).toBe(2);
    const sent = h.items('dispatched');
    expect(sent).toHaveLength(2);

    const after = await h.restart(B);
    expect((await after.tick()).dispatched).toBe(0);
    const ended = await after.run(run.id);
    expect(ended).toMatchObject({ status: 'cancelled', cancelled: 2, inFlight: 2, failed: 0 });
    expect(ended.reason).toContain(`superseded: the presets changed`);
    expect(ended.reason).toContain(`→ ${B.current} ${versionB}`);
    expect(ended.reason).toContain('start a new run');

    for (const item of sent) {
      expect(await processorAsks(after, item.image_id, item.generation!)).toBe('stopped');
    }
    expect(await after.run(run.id)).toMatchObject({
      status: 'cancelled',
      done: 0,
      failed: 0,
      cancelled: 4,
      inFlight: 0,
      remaining: 0,
    });
    expect(h.items('cancelled').filter((i) => i.error_code === 'SUPERSEDED')).toHaveLength(2);
    expect(regenerateFailures(after)).toEqual([]);
    // Later passes send nothing more for it.
    await after.tick();
    expect(h.ingestDispatches().flatMap((d) => d.ids)).toHaveLength(2);
  });

  it('is ended by the job spec request itself when that comes before the first pass, paused or not', async () => {
    h = await regenHarness({ ratePerMinute: 1 }, {}, { presets: A });
    await h.processed(3);
    const run = await h.start();
    await h.tick();
    const [sent] = h.items('dispatched');
    await h.action(run.id, 'pause');

    const after = await h.restart(B);
    expect(await processorAsks(after, sent!.image_id, sent!.generation!)).toBe('stopped');
    const ended = await after.run(run.id);
    expect(ended).toMatchObject({ status: 'cancelled', cancelled: 3, inFlight: 0, failed: 0 });
    expect(ended.reason).toContain(`${B.current} ${versionB}`);
    expect(regenerateFailures(after)).toEqual([]);
    // A new run for the current version can start at once, and takes every image again.
    expect(await after.start()).toMatchObject({ status: 'running', total: 3 });
  });
});
