// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
/**
 * Limits and fatal errors of `parallel` steps: nesting depth
 * (ParallelNestingError), the step limit and cancellation ending every
 * branch (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps,
 * https://cloud.google.com/workflows/quotas).
 */
import { describe, expect, it } from 'vitest';
import { barrierSleep } from './test-barriers.ts';
import { recordingContext, run, runError } from './test-support.ts';

describe('limits and fatal errors', () => {
  it('raises ParallelNestingError for a third level of parallel steps', async () => {
    const level = (depth: number): string =>
      depth === 0
        ? '- leaf:\n    assign:\n      - x: 1\n'
        : `- p${depth}:\n    parallel:\n      branches:\n        - a${depth}:\n            steps:\n${indent(level(depth - 1), 14)}        - b${depth}:\n            steps:\n              - noop${depth}:\n                  assign:\n                    - y: 1\n`;
    const indent = (text: string, n: number) =>
      text
        .split('\n')
        .map((l) => (l === '' ? l : ' '.repeat(n) + l))
        .join('\n');
    expect(await run(`${level(2)}- done:\n    return: "two levels"\n`)).toBe('two levels');
    const error = await runError(level(3));
    expect(JSON.stringify(error)).toContain('ParallelNestingError');
  });

  it('ends every branch when one reaches the step limit, which no except can catch', async () => {
    const ctx = recordingContext({ limits: { maxSteps: 50 } });
    const source = `
- guarded:
    try:
      steps:
        - spin:
            parallel:
              branches:
                - looping:
                    steps:
                      - again:
                          next: again
                - sleeping:
                    steps:
                      - nap:
                          call: sys.sleep
                          args: { seconds: 3600 }
    except:
      steps:
        - swallowed:
            return: "caught"
`;
    expect(await runError(source, null, ctx)).toMatchObject({ tags: ['ResourceLimitError'] });
  });

  it('stops sleeping branches when the host cancels the execution', async () => {
    const controller = new AbortController();
    const barrier = barrierSleep(99);
    const ctx = { ...recordingContext({ signal: controller.signal }), sleep: barrier.sleep };
    const source = `
- naps:
    parallel:
      for:
        value: n
        range: [1, 3]
        steps:
          - nap:
              call: sys.sleep
              args: { seconds: 60 }
`;
    const result = runError(source, null, ctx);
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await result).toMatchObject({ tags: ['CancelledError'] });
  });
});
