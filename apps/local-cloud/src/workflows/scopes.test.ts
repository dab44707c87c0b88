// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
/**
 * Deploy-time checks Google documents, each refused with a message naming the
 * line: variable scopes of `for`, `except` and parallel branches
 * (https://cloud.google.com/workflows/docs/reference/syntax/variables#variable-scope),
 * `shared` variables (parallel steps reference), step and variable names,
 * `next` targets, undefined subworkflows and call arguments; and subworkflow
 * calls inside expressions, which Google allows.
 */
import { describe, expect, it } from 'vitest';
import { WorkflowRuntimeError, WorkflowSyntaxError } from './errors.ts';
import { parseWorkflow } from './parse.ts';
import { run, runError } from './test-support.ts';

function deployError(source: string): string {
  try {
    parseWorkflow(source);
  } catch (error) {
    if (error instanceof WorkflowSyntaxError) return error.message;
    throw error;
  }
  throw new Error('expected the definition to be refused');
}

describe('variable scopes', () => {
  const guarded = `
- attempt:
    try:
      steps:
        - fail:
            raise: "boom"
    except:
      as: e
      steps:
        - note:
            assign:
              - reason: \${e}
- done:
    return: USE
`;

  it('accepts variables of an except block used inside it', async () => {
    expect(await run(guarded.replace('USE', '"handled"'))).toBe('handled');
  });

  it('refuses a variable created in an except block, or its error variable, used after it', () => {
    expect(deployError(guarded.replace('USE', '${reason}'))).toBe(
      'variable reason is not defined in this scope (line 14)',
    );
    expect(deployError(guarded.replace('USE', '${e}'))).toBe(
      'variable e is not defined in this scope (line 14)',
    );
  });

  it('keeps an outer variable assigned in an except block', async () => {
    const source = guarded
      .replace('- attempt:', '- init:\n    assign:\n      - reason: "none"\n- attempt:')
      .replace('USE', '${reason}');
    expect(await run(source)).toBe('boom');
  });

  it('refuses a variable that no step assigns', () => {
    expect(deployError('- done:\n    return: ${missing}\n')).toBe(
      'variable missing is not defined in this scope (line 2)',
    );
  });

  it('refuses variables created in a parallel branch or iteration used after the step', () => {
    const source = `
- fan:
    parallel:
      for:
        value: n
        in: [1, 2]
        steps:
          - local:
              assign:
                - twice: \${n * 2}
- done:
    return: LEAK
`;
    expect(deployError(source.replace('LEAK', '${twice}'))).toBe(
      'variable twice is not defined in this scope (line 12)',
    );
    expect(deployError(source.replace('LEAK', '${n}'))).toBe(
      'variable n is not defined in this scope (line 12)',
    );
  });
});

describe('shared variables', () => {
  const source = `
- init:
    assign:
      - input: [1, 2]
      - out: {}
- fan:
    parallel:
      shared: SHARED
      branches:
        - one:
            steps:
              - write_one:
                  assign:
                    - WRITE
        - two:
            steps:
              - read_two:
                  assign:
                    - local_copy: \${input[1]}
- done:
    return: \${out}
`;

  it('lets a branch write a shared variable and read any parent variable', async () => {
    const ok = source.replace('SHARED', '[out]').replace('WRITE', 'out.one: ${input[0]}');
    expect(await run(ok)).toEqual({ one: 1 });
  });

  it('refuses an assignment to a parent variable that is not shared, as Google does', () => {
    const bad = source.replace('SHARED', '[out]').replace('WRITE', 'input: 5');
    expect(deployError(bad)).toBe(
      'variable input belongs to the scope enclosing a parallel step and is not listed in its shared variables (line 14)',
    );
  });

  it('refuses a call result written into a parent variable that is not shared', () => {
    const bad = source
      .replace('SHARED', '[out]')
      .replace(
        '              - write_one:\n                  assign:\n                    - WRITE',
        '              - write_one:\n                  call: sys.now\n                  result: input',
      );
    expect(deployError(bad)).toBe(
      'variable input belongs to the scope enclosing a parallel step and is not listed in its shared variables (line 12)',
    );
  });

  it('refuses a shared variable that is not assigned before the parallel step', () => {
    const bad = source.replace('SHARED', '[out, later]').replace('WRITE', 'out.one: 1');
    expect(deployError(bad)).toBe(
      'shared variable later must be assigned before the parallel step, in its enclosing scope (line 8)',
    );
  });
});

describe('other deploy-time checks', () => {
  it('refuses a duplicate step name anywhere in a subworkflow', () => {
    expect(
      deployError(
        '- a:\n    steps:\n      - b:\n          assign:\n            - x: 1\n- b:\n    return: 1\n',
      ),
    ).toBe('duplicate step name b (line 6)');
  });

  it('accepts the same step name in two subworkflows', async () => {
    const source =
      'main:\n  steps:\n    - go:\n        call: helper\n        result: r\n    - done:\n        return: ${r}\nhelper:\n  steps:\n    - done:\n        return: 4\n';
    expect(await run(source)).toBe(4);
  });

  it('refuses reserved step names and invalid or reserved variable names', () => {
    expect(deployError('- end:\n    return: 1\n')).toBe(
      'step name end is reserved for next (line 1)',
    );
    expect(deployError('- a:\n    assign:\n      - true: 1\n')).toBe(
      'cannot assign to true (line 3)',
    );
    expect(
      deployError(
        '- a:\n    for:\n      value: in\n      in: [1]\n      steps:\n        - b:\n            assign:\n              - x: 1\n',
      ),
    ).toBe('loop variable name in is a reserved word (line 3)');
    expect(deployError('- a:\n    assign:\n      - 2x: 1\n')).toMatch(
      /^invalid expression 2x|^invalid variable name/,
    );
    expect(
      deployError('- a:\n    call: sys.now\n    result: my-result\n- b:\n    return: 1\n'),
    ).toBe(
      'invalid result variable name "my-result": use letters, digits and underscores, not starting with a digit (line 3)',
    );
  });

  it('refuses a call to an undefined subworkflow, naming its line', () => {
    expect(deployError('main:\n  steps:\n    - go:\n        call: nowhere\n')).toBe(
      'undefined subworkflow nowhere (line 4)',
    );
    expect(deployError('- go:\n    return: ${nowhere(1)}\n')).toBe(
      'undefined function or subworkflow nowhere (line 2)',
    );
  });

  it('refuses expression calls with too many or missing arguments', () => {
    const source = (call: string) =>
      `main:\n  steps:\n    - go:\n        return: \${${call}}\nadd:\n  params: [a, b: 10]\n  steps:\n    - sum:\n        return: \${a + b}\n`;
    expect(deployError(source('add(1, 2, 3)'))).toBe(
      'add takes 2 argument(s) but 3 were given (line 4)',
    );
    expect(deployError(source('add()'))).toBe('call add: missing argument a (line 4)');
  });

  it('refuses return, next: end and jumps out of a parallel branch', () => {
    const branch = (step: string) =>
      `- s:\n    parallel:\n      branches:\n        - a:\n            steps:\n              - x:\n${step}        - b:\n            steps:\n              - y:\n                  assign:\n                    - v: 1\n- after:\n    return: 1\n`;
    expect(deployError(branch('                  return: 1\n'))).toMatch(
      /^unsupported: return inside a parallel branch or iteration .*\(line 7\)$/,
    );
    expect(deployError(branch('                  next: end\n'))).toBe(
      'next: end cannot leave a parallel branch (line 7)',
    );
    expect(deployError(branch('                  next: after\n'))).toBe(
      'next: after is outside the parallel branch or iteration of this step (line 7)',
    );
  });

  it('refuses an exception_policy other than continueAll and a bad concurrency_limit', () => {
    const step = (extra: string) =>
      `- s:\n    parallel:\n${extra}      for:\n        value: v\n        in: [1]\n        steps:\n          - x:\n              assign:\n                - y: 1\n`;
    expect(deployError(step('      exception_policy: unhandled\n'))).toBe(
      'exception_policy must be continueAll (line 3)',
    );
    expect(deployError(step('      concurrency_limit: 0\n'))).toBe(
      'concurrency_limit must be a positive integer (line 3)',
    );
  });
});

describe('subworkflow calls in expressions', () => {
  const source = `
main:
  params: [n]
  steps:
    - compute:
        assign:
          - total: \${square(n) + square(n + 1)}
          - label: \${if(is_big(total), "big", "small")}
    - done:
        return:
          total: \${total}
          label: \${label}
          greeting: \${greet("Ada")}
square:
  params: [x]
  steps:
    - result:
        return: \${x * x}
is_big:
  params: [v]
  steps:
    - check:
        return: \${v > 20}
greet:
  params: [name, punctuation: "!"]
  steps:
    - say:
        return: \${"Hello " + name + punctuation}
`;

  it('calls subworkflows with positional arguments and parameter defaults', async () => {
    expect(await run(source, 3)).toEqual({ total: 25, label: 'big', greeting: 'Hello Ada!' });
    expect(await run(source, 1)).toEqual({ total: 5, label: 'small', greeting: 'Hello Ada!' });
  });

  it('propagates an error raised in the subworkflow, with both steps in the stack trace', async () => {
    const failing = source.replace('return: ${x * x}', 'raise: "no squares today"');
    expect(await runError(failing, 2)).toEqual({ message: 'no squares today', tags: [] });
    const error = await run(failing, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowRuntimeError);
    expect((error as WorkflowRuntimeError).trace.map((el) => `${el.routine}.${el.step}`)).toEqual([
      'square.result',
      'main.compute',
    ]);
  });
});
