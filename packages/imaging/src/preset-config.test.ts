import { AppError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import presetFile from '../presets.json' with { type: 'json' };
import { parsePresetFile, presetClosure, presetVersion } from './preset-config.ts';
import { BUILT_IN_PRESETS, DEFAULT_PRESET } from './presets.ts';

// Loosely typed on purpose: the tests write wrong values into a copy of the file.
// biome-ignore lint/suspicious/noExplicitAny: a deliberately malformed file
type Loose = Record<string, any>;
const clone = (value: unknown): Loose => JSON.parse(JSON.stringify(value)) as Loose;

describe('preset files', () => {
  it('validates the repository file, whose default is web-v3', () => {
    expect(DEFAULT_PRESET).toBe('web-v3');
    expect(Object.keys(BUILT_IN_PRESETS.presets)).toEqual([
      'web-v1',
      'web-v1-p3',
      'web-v3',
      'preview-v1',
    ]);
    expect(BUILT_IN_PRESETS.presets['web-v1']?.name).toBe('web-v1');
    const search = BUILT_IN_PRESETS.presets['web-v3']?.qualitySearch;
    expect(search?.minPixels).toBe(1_000_000);
    expect(search?.speed.avif?.start).toEqual([54, 55]);
    expect(search?.payers.jpeg?.min).toBe(77);
  });

  it('lists every problem of an invalid file at once, each with its path', () => {
    const file = clone(presetFile);
    file.default = 'web-v9';
    file.presets['web-v1'].widths = [640, 320];
    file.presets['web-v1'].avif.quality = 0;
    file.presets['web-v1'].jpeg.qualty = 80;
    file.presets['web-v3'].qualitySearch.baseline = 'nope';
    file.presets['web-v3'].qualitySearch.speed.avif.min = 90;
    let error: unknown;
    try {
      parsePresetFile(file, 'broken.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    const { code, context } = error as AppError;
    expect(code).toBe('VALIDATION_FAILED');
    const problems = (context as { problems: string[] }).problems.join('\n');
    expect(problems).toMatch(/^default: names no preset/m);
    expect(problems).toMatch(/^presets\.web-v1\.widths: widths must be ascending/m);
    expect(problems).toMatch(/^presets\.web-v1\.avif\.quality: /m);
    expect(problems).toMatch(/^presets\.web-v1\.jpeg: .*qualty/m);
    expect(problems).toMatch(/^presets\.web-v3\.qualitySearch\.baseline: names no preset/m);
    expect(problems).toMatch(/^presets\.web-v3\.qualitySearch\.speed\.avif\.min: /m);
  });

  it('refuses a width wider than every encoder writes (WebP: 16383 px)', () => {
    const file = clone(presetFile);
    file.presets['web-v1'].widths = [640, 20_000];
    expect(() => parsePresetFile(file, 'wide.json')).toThrow(/web-v1\.widths\.1: /);
    file.presets['web-v1'].widths = [640, 16_383];
    expect(() => parsePresetFile(file, 'wide.json')).not.toThrow();
  });

  it("checks the quality search's pixel floor, byte margin and keys", () => {
    const file = clone(presetFile);
    const search = file.presets['web-v3'].qualitySearch;
    search.minPixels = -1;
    search.byteMargin = 1;
    search.payers.jpeg.fast.qualty = 80;
    delete search.speed.avif.maxBytesRatio;
    search.formats = {};
    let error: unknown;
    try {
      parsePresetFile(file, 'broken.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    const problems = ((error as AppError).context as { problems: string[] }).problems.join('\n');
    const at = '^presets\\.web-v3\\.qualitySearch\\.';
    expect(problems).toMatch(new RegExp(`${at}minPixels: `, 'm'));
    expect(problems).toMatch(new RegExp(`${at}byteMargin: `, 'm'));
    expect(problems).toMatch(new RegExp(`${at}speed\\.avif\\.maxBytesRatio: `, 'm'));
    expect(problems).toMatch(new RegExp(`${at}payers\\.jpeg\\.fast: .*qualty`, 'm'));
    // web-v2's single `formats` map is gone: a file still using it is told so.
    expect(problems).toMatch(/^presets\.web-v3\.qualitySearch: .*formats/m);
  });

  it('refuses repeated or out-of-range start qualities and a format that is both speed and payer', () => {
    const file = clone(presetFile);
    const search = file.presets['web-v3'].qualitySearch;
    search.speed.avif.start = [54, 54];
    search.payers.jpeg.start = [70];
    search.payers.avif = clone(search.speed.avif);
    search.payers.avif.start = [];
    let error: unknown;
    try {
      parsePresetFile(file, 'broken.json');
    } catch (e) {
      error = e;
    }
    const problems = ((error as AppError).context as { problems: string[] }).problems.join('\n');
    const at = '^presets\\.web-v3\\.qualitySearch\\.';
    expect(problems).toMatch(
      new RegExp(`${at}speed\\.avif\\.start: start qualities must not repeat`, 'm'),
    );
    expect(problems).toMatch(
      new RegExp(`${at}payers\\.jpeg\\.start: start qualities must lie`, 'm'),
    );
    expect(problems).toMatch(new RegExp(`${at}payers\\.avif: avif is also a speed format`, 'm'));
  });

  it('versions a preset by its content: key order does not matter, a setting does', () => {
    const base = parsePresetFile(presetFile, 'a');
    const reordered = clone(presetFile);
    const v1 = reordered.presets['web-v1'];
    reordered.presets['web-v1'] = Object.fromEntries(Object.entries(v1).reverse());
    expect(presetVersion(parsePresetFile(reordered, 'b'), 'web-v1')).toBe(
      presetVersion(base, 'web-v1'),
    );
    const changed = clone(presetFile);
    changed.presets['web-v1'].webp.quality = 81;
    const edited = parsePresetFile(changed, 'c');
    expect(presetVersion(edited, 'web-v1')).not.toBe(presetVersion(base, 'web-v1'));
    // web-v3 searches against web-v1: a change to its baseline is a new web-v3 too.
    expect(presetVersion(edited, 'web-v3')).not.toBe(presetVersion(base, 'web-v3'));
    expect(presetVersion(edited, 'preview-v1')).toBe(presetVersion(base, 'preview-v1'));
    expect(presetVersion(base, 'web-v1')).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.keys(presetClosure(base, 'web-v3')).sort()).toEqual(['web-v1', 'web-v3']);
  });

  it("versions every field of web-v3's quality search", () => {
    const base = presetVersion(parsePresetFile(presetFile, 'a'), 'web-v3');
    const edits: ((search: Loose) => void)[] = [
      (q) => {
        q.minPixels = 500_000;
      },
      (q) => {
        q.byteMargin = 0.05;
      },
      (q) => {
        q.speed.avif.start = [55];
      },
      (q) => {
        q.speed.avif.maxBytesRatio = 1.2;
      },
      (q) => {
        q.payers.jpeg.min = 78;
      },
      (q) => {
        q.payers.jpeg.fast.quantisationTable = 3;
      },
    ];
    const versions = edits.map((edit) => {
      const file = clone(presetFile);
      edit(file.presets['web-v3'].qualitySearch);
      return presetVersion(parsePresetFile(file, 'edited'), 'web-v3');
    });
    for (const version of versions) expect(version).not.toBe(base);
    expect(new Set(versions).size).toBe(edits.length);
  });
});
