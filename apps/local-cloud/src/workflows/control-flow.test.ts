// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
import { describe, expect, it } from 'vitest';
import { parseWorkflow } from './parse.ts';
import { recordingContext, run, runError } from './test-support.ts';

describe('switch', () => {
  const source = `
main:
  params: [n]
  steps:
    - init:
        assign:
          - label: "small"
    - pick:
        switch:
          - condition: \${n < 0}
            return: "negative"
          - condition: \${n == 0}
            next: zero
          - condition: \${n > 100}
            raise: "too big"
          - condition: \${n > 10}
            assign:
              - label: "large"
            steps:
              - suffix:
                  assign:
                    - label: \${label + "!"}
        next: finish
    - zero:
        return: "zero"
    - finish:
        return: \${label}
`;

  it('returns from a condition', async () => {
    expect(await run(source, -1)).toBe('negative');
  });

  it('jumps with next from a condition', async () => {
    expect(await run(source, 0)).toBe('zero');
  });

  it('raises a string from a condition, which except sees as that string', async () => {
    expect(await runError(source, 1000)).toEqual({ message: 'too big', tags: [] });
  });

  it('runs assign then steps of the matching condition, then the step next', async () => {
    expect(await run(source, 11)).toBe('large!');
  });

  it('falls through to the step next when no condition matches', async () => {
    expect(await run(source, 5)).toBe('small');
  });

  it('raises TypeError for a condition that is not a boolean', async () => {
    const error = await runError('- s:\n    switch:\n      - condition: ${1}\n        return: 1\n');
    expect(error).toMatchObject({ tags: ['TypeError'] });
  });
});

describe('for loops', () => {
  it('iterates a list with value and index', async () => {
    const source = `
- init:
    assign:
      - out: []
- loop:
    for:
      value: v
      index: i
      in: ["a", "b"]
      steps:
        - add:
            assign:
              - out: \${list.concat(out, string(i) + v)}
- done:
    return: \${out}
`;
    expect(await run(source)).toEqual(['0a', '1b']);
  });

  it('iterates an inclusive range, with break and continue', async () => {
    const source = `
- init:
    assign:
      - sum: 0
- loop:
    for:
      value: v
      range: [1, 100]
      steps:
        - skip_even:
            switch:
              - condition: \${v % 2 == 0}
                next: continue
              - condition: \${v > 9}
                next: break
        - add:
            assign:
              - sum: \${sum + v}
- done:
    return: \${sum}
`;
    expect(await run(source)).toBe(1 + 3 + 5 + 7 + 9);
  });

  it('keeps variables created in the loop local, and changes to outer variables visible', async () => {
    const source = `
- init:
    assign:
      - total: 0
- loop:
    for:
      value: v
      in: [1, 2]
      steps:
        - inner:
            assign:
              - created_inside: \${v}
              - total: \${total + v}
- done:
    return: \${total}
`;
    expect(await run(source)).toBe(3);
    // Google rejects a use outside the loop at deploy time, not at run time.
    const leak = `${source}- unreachable:\n    return: \${created_inside}\n`;
    expect(() => parseWorkflow(leak)).toThrow(
      'variable created_inside is not defined in this scope (line 17)',
    );
  });

  it("follows Google's loop-scope sample: only the variable declared before the loops survives", async () => {
    // https://cloud.google.com/workflows/docs/samples/workflows-loop-scope
    const source = `
- init:
    assign:
      - workflowScope: foo
- outerLoop:
    for:
      value: outerLoopValue
      in: [1, 2, 3, 4]
      steps:
        - outerLoopAssign:
            assign:
              - outerLoopScope: \${workflowScope}
        - innerLoop:
            for:
              value: innerLoopValue
              in: [5, 6, 7, 8]
              steps:
                - innerLoopAssign:
                    assign:
                      - workflowScope: \${innerLoopValue}
                      - innerLoopScope: \${outerLoopScope}
- final:
    return:
      - \${workflowScope}
`;
    expect(await run(source)).toEqual([8]);
    // "accessing it outside of the loop will raise an error when deploying the workflow"
    for (const hidden of ['outerLoopScope', 'innerLoopScope', 'outerLoopValue']) {
      const leak = source.replace('- ${workflowScope}', `- \${${hidden}}`);
      expect(() => parseWorkflow(leak)).toThrow(`variable ${hidden} is not defined in this scope`);
    }
  });

  it('returns from inside a loop', async () => {
    const source = `
- loop:
    for:
      value: v
      in: [1, 2, 3]
      steps:
        - found:
            switch:
              - condition: \${v == 2}
                return: \${v * 10}
- done:
    return: 0
`;
    expect(await run(source)).toBe(20);
  });
});

describe('subworkflows and scoping', () => {
  const source = `
main:
  params: [args]
  steps:
    - call_it:
        call: greet
        args:
          name: \${args.name}
        result: greeting
    - call_default:
        call: greet
        args:
          name: "you"
          greeting: "Bye"
        result: other
    - done:
        return: \${[greeting, other, default(map.get(args, "local"), "none")]}
greet:
  params: [name, greeting: "Hello"]
  steps:
    - build:
        assign:
          - local: "not visible to main"
    - answer:
        return: \${greeting + " " + name}
`;

  it('passes arguments, applies parameter defaults and keeps variables local', async () => {
    expect(await run(source, { name: 'Ada' })).toEqual(['Hello Ada', 'Bye you', 'none']);
  });

  it('raises RecursionError past the call depth limit', async () => {
    const recursive = `
main:
  steps:
    - go:
        call: down
        args: { n: 0 }
        result: r
    - done:
        return: \${r}
down:
  params: [n]
  steps:
    - again:
        call: down
        args:
          n: \${n + 1}
        result: r
    - done:
        return: \${r}
`;
    const error = await runError(
      recursive,
      null,
      recordingContext({ limits: { maxCallDepth: 5 } }),
    );
    expect(error).toMatchObject({ tags: ['RecursionError'] });
  });

  it('ends a subworkflow with next: end, returning null to the caller', async () => {
    const ending = `
main:
  steps:
    - go:
        call: sub
        result: r
    - done:
        return: \${[r]}
sub:
  steps:
    - stop:
        next: end
    - never:
        return: 1
`;
    expect(await run(ending)).toEqual([null]);
  });
});

describe('assignment, steps and jumps', () => {
  it('assigns into list items and nested map keys without aliasing', async () => {
    const source = `
- init:
    assign:
      - a: {"x": {"y": 1}, "list": [1, 2]}
      - b: \${a}
      - a.x.y: 2
      - a.x.z: 3
      - a.list[1]: 20
      - a["new"]: true
- done:
    return: \${[a, b]}
`;
    expect(await run(source)).toEqual([
      { x: { y: 2, z: 3 }, list: [1, 20], new: true },
      { x: { y: 1 }, list: [1, 2] },
    ]);
  });

  it('runs nested steps and jumps out of them to an outer step', async () => {
    const source = `
- outer:
    steps:
      - first:
          assign:
            - n: 1
      - leave:
          next: finish
      - skipped:
          assign:
            - n: 100
- also_skipped:
    assign:
      - n: 1000
- finish:
    return: \${n}
`;
    expect(await run(source)).toBe(1);
  });

  it('stops an endless next loop at the step limit with ResourceLimitError', async () => {
    const source = `
- spin:
    next: spin
`;
    const error = await runError(source, null, recordingContext({ limits: { maxSteps: 1000 } }));
    expect(error).toMatchObject({ tags: ['ResourceLimitError'] });
  });

  it('stops when the host cancels the execution', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await runError(
      '- a:\n    return: 1\n',
      null,
      recordingContext({ signal: controller.signal }),
    );
    expect(error).toMatchObject({ tags: ['CancelledError'] });
  });

  it('returns null from a workflow without a return step', async () => {
    expect(await run('- a:\n    assign:\n      - x: 1\n')).toBeNull();
  });

  it('logs through sys.log and sleeps through the host', async () => {
    const ctx = recordingContext();
    await run(
      '- log:\n    call: sys.log\n    args:\n      severity: WARNING\n      data: {"k": 1}\n- nap:\n    call: sys.sleep\n    args:\n      seconds: 1.5\n',
      null,
      ctx,
    );
    expect(ctx.logs).toEqual([{ severity: 'WARNING', data: { k: 1 } }]);
    expect(ctx.sleeps).toEqual([1500]);
  });
});
