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
  it('validates the repository file, whose default is web-v1', () => {
    expect(DEFAULT_PRESET).toBe('web-v1');
    expect(Object.keys(BUILT_IN_PRESETS.presets)).toEqual(
      expect.arrayContaining(['web-v1', 'web-v2', 'preview-v1']),
    );
    expect(BUILT_IN_PRESETS.presets['web-v1']?.name).toBe('web-v1');
  });

  it('lists every problem of an invalid file at once, each with its path', () => {
    const file = clone(presetFile);
    file.default = 'web-v9';
    file.presets['web-v1'].widths = [640, 320];
    file.presets['web-v1'].avif.quality = 0;
    file.presets['web-v1'].jpeg.qualty = 80;
    file.presets['web-v2'].qualitySearch.baseline = 'nope';
    file.presets['web-v2'].qualitySearch.formats.avif.min = 90;
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
    expect(problems).toMatch(/^presets\.web-v2\.qualitySearch\.baseline: names no preset/m);
    expect(problems).toMatch(/^presets\.web-v2\.qualitySearch\.formats\.avif\.min: /m);
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
    // web-v2 searches against web-v1: a change to its baseline is a new web-v2 too.
    expect(presetVersion(edited, 'web-v2')).not.toBe(presetVersion(base, 'web-v2'));
    expect(presetVersion(edited, 'preview-v1')).toBe(presetVersion(base, 'preview-v1'));
    expect(presetVersion(base, 'web-v1')).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.keys(presetClosure(base, 'web-v2')).sort()).toEqual(['web-v1', 'web-v2']);
  });
});
