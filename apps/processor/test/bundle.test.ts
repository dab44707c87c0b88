/**
 * What ships holds no test-only code: the fault switches live in
 * src/faults.ts and src/main-with-faults.ts, which the bundle's entry
 * (src/entry.ts) never imports, so no file of dist/ may carry them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundlePath, processorDir } from './helpers.ts';

/** Text only the fault code contains (the switches' names, the faulty store's own messages). */
const FAULT_MARKERS = [
  'PROCESSOR_FAULT',
  'STORAGE_FAULTS',
  'createFaultyObjectStore',
  'injected storage fault',
];

describe('the processor bundle (dist/)', () => {
  it('contains none of the fault-injection code', () => {
    const dist = join(processorDir, 'dist');
    const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((name) =>
      name.endsWith('.mjs'),
    );
    expect(files).toContain('processor.mjs');
    expect(readFileSync(bundlePath, 'utf8').length).toBeGreaterThan(0);
    const found = files.flatMap((name) => {
      const text = readFileSync(join(dist, name), 'utf8');
      return FAULT_MARKERS.filter((marker) => text.includes(marker)).map((m) => `${name}: ${m}`);
    });
    expect(found).toEqual([]);
  });
});
