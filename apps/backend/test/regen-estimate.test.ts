/**
 * A regeneration dry run's figures (src/regen/estimate.ts, docs/operations.md,
 * "Presets and regeneration"): each image's CPU is a fixed part plus a part
 * per source megapixel, fitted over the processor's measurements, which the
 * backend records from the real `complete` callbacks into a real SQLite file.
 * A per-megapixel rate alone, measured on large photos, put eight small
 * images at 4.26 CPU-s where they took 14.79.
 */
import {
  CallbackAnswer,
  RegenDryRunAnswer,
  RegenOverviewAnswer,
  type UploadAnswer,
} from '@slideshow/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { VERSION_SPREAD } from '../src/regen/cost-model.ts';
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

/** What an image of `mp` megapixels costs in these tests: 1.5 CPU-s + 0.1 CPU-s per MP, ±3 %. */
const FIXED = 1.5;
const PER_MP = 0.1;
const cpuOf = (mp: number, i: number) => (FIXED + PER_MP * mp) * (i % 2 === 0 ? 1.03 : 0.97);

/** 4:3 sizes of `mp` megapixels each, as width × height. */
const sizes = (mps: number[]) =>
  mps.map((mp) => {
    const width = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
    return { width, height: Math.round((mp * 1e6) / width) };
  });

/** A preset version other than the current one (versions are 16 hex digits). */
const OLDER_VERSION = '0123456789abcdef';

/** Twelve large photos, 12 to 34 MP. */
const LARGE = Array.from({ length: 12 }, (_, i) => 12 + 2 * i);

let seq = 0;

/**
 * Uploads one image per size and reports it processed through the `complete`
 * callback with that size, made at `version` with the CPU {@link cpuOf} (the
 * processor's `timings.cpu`); no version leaves it to be regenerated and
 * records no cost.
 */
async function processed(
  t: TestApp,
  list: { width: number; height: number }[],
  version?: string,
): Promise<string[]> {
  const files = list.map(() => ({ name: `${seq}.png`, bytes: makePng(8, 6, ++seq) }));
  const answer: UploadAnswer = await uploadFiles(t, files);
  await t.relay.drain();
  const ids = answer.images.flatMap((i) => ('id' in i ? [i.id] : []));
  expect(ids).toHaveLength(list.length);
  for (const [i, id] of ids.entries()) {
    const { width, height } = list[i]!;
    const result = sampleResult({
      width,
      height,
      timings: { cpu: Math.round(cpuOf((width * height) / 1e6, i) * 1000) },
      ...(version ? { presetVersion: version } : {}),
    });
    await expectAnswer(
      CallbackAnswer,
      await t.app.request(`/api/processing/${id}/complete`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: 0, result }),
      }),
      200,
    );
  }
  return ids;
}

/** The backend's current preset version. */
async function currentVersion(t: TestApp): Promise<string> {
  const overview = await expectAnswer(
    RegenOverviewAnswer,
    await t.app.request('/api/admin/regenerate', { headers: admin() }),
    200,
  );
  return overview.preset.version;
}

/** The dry run over every image to regenerate, or over `ids`. */
async function dryRun(t: TestApp, ids?: string[]): Promise<RegenDryRunAnswer> {
  return expectAnswer(
    RegenDryRunAnswer,
    await t.app.request('/api/admin/regenerate', {
      method: 'POST',
      headers: admin({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ dryRun: true, ...(ids ? { filter: { ids } } : {}) }),
    }),
    200,
  );
}

/** The true CPU of images of these sizes (without the ±3 %). */
const truth = (mps: number[]) => mps.reduce((sum, mp) => sum + FIXED + PER_MP * mp, 0);

describe('the dry run estimate', () => {
  let t: TestApp | undefined;
  afterEach(() => t?.cleanup());

  it('counts a fixed part per image when small images are estimated from large ones', async () => {
    t = await makeApp();
    await processed(t, sizes(LARGE), await currentVersion(t));
    const small = Array.from({ length: 10 }, () => 1);
    await processed(t, sizes(small));

    const dry = await dryRun(t);
    expect(dry).toMatchObject({ images: 10, basis: 'this preset version', samples: 12 });
    // 10 × (1.5 + 0.1): the per-megapixel rate of the large photos alone (0.165) said 1.65.
    expect(dry.cpuSeconds).toBeGreaterThan(truth(small) * 0.9);
    expect(dry.cpuSeconds).toBeLessThan(truth(small) * 1.1);
    expect(dry.model.perImageCpuSeconds).toBeGreaterThan(FIXED * 0.8);
    expect(dry.model.perImageCpuSeconds).toBeLessThan(FIXED * 1.2);
    // Each task: 1.6 CPU-s / 2 vCPU + 0.2 s start-up = 1.0 s billed at $0.00004 (±0.1 s rounding).
    expect(dry.costUsd).toBeGreaterThanOrEqual(10 * 1.0 * 0.00004);
    expect(dry.costUsd).toBeLessThanOrEqual(10 * 1.1 * 0.00004);
    expect(dry.range.cpuSeconds.low).toBeLessThanOrEqual(truth(small));
    expect(dry.range.cpuSeconds.high).toBeGreaterThanOrEqual(truth(small));
  });

  it('keeps a selection of photos as large as the measured ones near the per-megapixel figure', async () => {
    t = await makeApp();
    await processed(t, sizes(LARGE), await currentVersion(t));
    const large = [22, 24, 24, 26];
    await processed(t, sizes(large));

    const dry = await dryRun(t);
    const measuredMp = LARGE.reduce((sum, mp) => sum + mp, 0);
    const measuredCpu = LARGE.reduce((sum, mp, i) => sum + cpuOf(mp, i), 0);
    const perMegapixel = (measuredCpu / measuredMp) * dry.megapixels;
    expect(dry.images).toBe(4);
    expect(Math.abs(dry.cpuSeconds - perMegapixel) / perMegapixel).toBeLessThan(0.05);
    expect(dry.range.cpuSeconds.low).toBeLessThanOrEqual(truth(large));
    expect(dry.range.cpuSeconds.high).toBeGreaterThanOrEqual(truth(large));
  });

  it('says when it borrows other versions’ figures, and gives a range that wide', async () => {
    t = await makeApp();
    await processed(t, sizes(LARGE), OLDER_VERSION);
    const small = [1, 1.5, 2, 2, 3];
    const ids = await processed(t, sizes(small));

    // The measured images are of another version too: the selection names the small ones.
    const dry = await dryRun(t, ids);
    expect(dry).toMatchObject({ images: 5, basis: 'other preset versions', samples: 12 });
    expect(dry.model.note).toContain('other preset versions');
    expect(dry.model.note).toContain(`${VERSION_SPREAD}×`);
    const { low, high } = dry.range.cpuSeconds;
    expect(low).toBeLessThan(dry.cpuSeconds);
    expect(high).toBeGreaterThan(dry.cpuSeconds);
    // Another version may cost 1/2.5 to 2.5× as much: the range spans at least that.
    expect(high / low).toBeGreaterThanOrEqual(VERSION_SPREAD ** 2);
    expect(low).toBeLessThanOrEqual(truth(small) / VERSION_SPREAD);
    expect(high).toBeGreaterThanOrEqual(truth(small) * VERSION_SPREAD);
    expect(dry.range.costUsd.low).toBeLessThan(dry.costUsd);
    expect(dry.range.costUsd.high).toBeGreaterThan(dry.costUsd);
  });

  it('says when this version’s figures stand on few images, and still covers the truth', async () => {
    t = await makeApp();
    await processed(t, sizes(LARGE), OLDER_VERSION);
    await processed(t, sizes([1, 2, 3]), await currentVersion(t));
    const small = [1, 1.5, 2, 2.5];
    const ids = await processed(t, sizes(small));

    const dry = await dryRun(t, ids);
    expect(dry).toMatchObject({ images: 4, basis: 'this preset version', samples: 3 });
    expect(dry.model.note).toContain('few images');
    expect(dry.range.cpuSeconds.low).toBeLessThanOrEqual(truth(small));
    expect(dry.range.cpuSeconds.high).toBeGreaterThanOrEqual(truth(small));
  });

  it('falls back to the documented bench line when nothing was measured', async () => {
    t = await makeApp();
    await processed(t, sizes([2, 12]));

    const dry = await dryRun(t);
    expect(dry).toMatchObject({ images: 2, basis: 'documented figure', samples: 0 });
    // docs/performance.md's seven web-v3 images: 0.40 CPU-s per image + 0.363 per MP.
    expect(dry.model.perImageCpuSeconds).toBeCloseTo(0.395, 2);
    expect(dry.model.perMegapixelCpuSeconds).toBeCloseTo(0.363, 2);
    expect(dry.cpuSeconds).toBeCloseTo(2 * 0.395 + 14 * 0.363, 1);
    expect(dry.range.cpuSeconds.low).toBeLessThan(dry.cpuSeconds);
    expect(dry.range.cpuSeconds.high).toBeGreaterThan(dry.cpuSeconds);
  });

  it('answers zeros for an empty selection', async () => {
    t = await makeApp();
    await processed(t, sizes(LARGE), await currentVersion(t));

    const dry = await dryRun(t);
    expect(dry).toMatchObject({
      images: 0,
      megapixels: 0,
      cpuSeconds: 0,
      costUsd: 0,
      range: { cpuSeconds: { low: 0, high: 0 }, costUsd: { low: 0, high: 0 } },
    });
  });
});
