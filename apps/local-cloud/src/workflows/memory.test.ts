/**
 * The memory limit (memory.ts): Google's size formula, the 512 KB of all
 * variables of an execution, and the cap on what one expression makes. The
 * runaway workflows run with a small step limit, so that an engine without
 * the memory limit ends them at the step limit (a failed assertion) long
 * before they could take gigabytes.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MEMORY_BYTES, sizeOf } from './memory.ts';
import { DOUBLING_WORKFLOWS, recordingContext, returning, run, runError } from './test-support.ts';
import { fromJs, type WfValue } from './values.ts';

const FEW_STEPS = recordingContext({ limits: { maxSteps: 64 } });

function memoryError(what: string, limit = DEFAULT_MAX_MEMORY_BYTES) {
  return {
    message: `Memory usage limit exceeded: ${what} would take more than ${limit} bytes`,
    tags: ['ResourceLimitError'],
  };
}

describe('the size of a value, as Google counts it', () => {
  it("counts the variables page's example: a 28-character string takes 36 bytes", () => {
    expect(sizeOf('This is a string of 28 bytes', Infinity)).toBe(36);
  });

  it('counts 8 bytes per number and boolean, plus 8 per list, map, key and string', () => {
    expect(sizeOf(1n, Infinity)).toBe(8);
    expect(sizeOf(fromJs([1, 2.5, true]), Infinity)).toBe(8 + 3 * 8);
    // A map: 8, then per entry its key (8 + length) and its value.
    expect(sizeOf(fromJs({ ab: 'xyz', c: [null] }), Infinity)).toBe(8 + (10 + 11) + (9 + 16));
    expect(sizeOf(new Uint8Array(100), Infinity)).toBe(108);
  });

  it('counts a list held twice twice, and stops as soon as the count passes the budget', () => {
    let nested: WfValue = [1n];
    for (let i = 0; i < 60; i++) nested = [nested, nested];
    // 2^60 copies of [1] to Google; 61 small arrays in memory; the count stops past 1 KiB.
    const size = sizeOf(nested, 1024);
    expect(size).toBeGreaterThan(1024);
    expect(size).toBeLessThan(2048);
  });
});

describe('a workflow that grows a value without bound', () => {
  it('ends with ResourceLimitError when list.concat doubles a list at every step', async () => {
    expect(await runError(DOUBLING_WORKFLOWS.list, null, FEW_STEPS)).toEqual(
      memoryError('the result of list.concat'),
    );
  });

  it('ends with ResourceLimitError when a string doubles at every step', async () => {
    expect(await runError(DOUBLING_WORKFLOWS.string, null, FEW_STEPS)).toEqual(
      memoryError('a string'),
    );
  });

  it('cannot be caught: an except around the growing step does not run', async () => {
    const source = `
main:
  steps:
    - a:
        assign:
          - s: "12345678"
          - caught: false
    - grow:
        try:
          steps:
            - b:
                assign:
                  - s: \${s + s}
                next: b
        except:
          as: e
          steps:
            - mark:
                assign:
                  - caught: true
    - done:
        return: \${caught}
`;
    expect(await runError(source, null, FEW_STEPS)).toMatchObject({
      tags: ['ResourceLimitError'],
    });
  });
});

describe('what one expression makes', () => {
  it('refuses text.replace_all that would multiply a string past the limit, before building it', async () => {
    const source = returning('text.replace_all(args.s, "a", args.long)');
    const args = { s: 'a'.repeat(1000), long: 'b'.repeat(1000) };
    expect(await runError(source, args)).toEqual(memoryError('text.replace_all'));
    expect(await run(source, { s: 'a'.repeat(100), long: 'b'.repeat(1000) })).toHaveLength(100_000);
  });

  it('refuses a list literal or a YAML list that repeats a large variable past the limit', async () => {
    const literal = returning('[args.s, args.s, args.s, args.s, args.s, args.s]');
    const yamlList = `
main:
  params: [args]
  steps:
    - r:
        return:
          - \${args.s}
          - \${args.s}
          - \${args.s}
          - \${args.s}
          - \${args.s}
          - \${args.s}
`;
    const args = { s: 'x'.repeat(100_000) };
    expect(await runError(literal, args)).toEqual(memoryError('a list or map'));
    expect(await runError(yamlList, args)).toEqual(memoryError('a list or map'));
  });

  it('refuses text.find_all_regex whose list of matches would pass the limit', async () => {
    const source = returning('len(text.find_all_regex(args.s, ""))');
    // An empty pattern matches before every character: 2,001 maps of about 50 bytes.
    const small = recordingContext({ limits: { maxMemoryBytes: 20_000 } });
    expect(await runError(source, { s: 'x'.repeat(2000) }, small)).toEqual(
      memoryError('text.find_all', 20_000),
    );
    expect(await run(source, { s: 'x'.repeat(200) }, small)).toBe(201);
  });
});

describe('the variables of an execution together', () => {
  it('runs a workflow whose argument takes nearly all of the 512 KB', async () => {
    // 8 + 60,000 × 8 = 480,008 bytes.
    const source = returning('len(args)');
    expect(await run(source, new Array(60_000).fill(7))).toBe(60_000);
  });

  it('refuses a copy of it, since assigning copies by value (Google: "This action doubles the memory usage")', async () => {
    const source = `
main:
  params: [args]
  steps:
    - copy:
        assign:
          - b: \${args}
    - r:
        return: \${len(b)}
`;
    expect(await runError(source, new Array(60_000).fill(7))).toEqual(
      memoryError('the variables (assigning b)'),
    );
  });

  it('gives back what a subworkflow call, a loop body and an except block held once they end', async () => {
    // Each call holds 200,016 bytes (s and t) and each except block 100,008 (e): kept after
    // they end, the second iteration would pass the limit.
    const source = `
main:
  params: [args]
  steps:
    - loop:
        for:
          value: i
          range: [1, 10]
          steps:
            - local:
                assign:
                  - big: \${args.s}
            - call:
                call: hold
                args:
                  s: \${args.s}
                result: n
            - fail:
                try:
                  raise: \${args.s}
                except:
                  as: e
                  steps:
                    - noop:
                        assign:
                          - m: \${len(e)}
    - r:
        return: \${len(args.s)}
hold:
  params: [s]
  steps:
    - copy:
        assign:
          - t: \${s}
    - r:
        return: \${len(t)}
`;
    const s = 'x'.repeat(100_000);
    expect(await run(source, { s })).toBe(100_000);
  });
});
