// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
import { coerceError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { WorkflowSyntaxError } from './errors.ts';
import { parseWorkflow } from './parse.ts';

function syntaxError(source: string): WorkflowSyntaxError {
  try {
    parseWorkflow(source);
  } catch (error) {
    if (error instanceof WorkflowSyntaxError) return error;
    throw coerceError(error);
  }
  throw new Error('expected a WorkflowSyntaxError');
}

describe('parseWorkflow', () => {
  it('accepts a bare list of steps as main', () => {
    const program = parseWorkflow('- a:\n    return: 1\n');
    expect([...program.subworkflows.keys()]).toEqual(['main']);
  });

  it('accepts JSON definitions', () => {
    const program = parseWorkflow(
      '{"main": {"params": ["args"], "steps": [{"a": {"return": "${args}"}}]}}',
    );
    expect(program.subworkflows.get('main')?.params).toEqual([{ name: 'args' }]);
  });

  it('refuses a parallel step with fewer than two branches, naming its line', () => {
    const error = syntaxError(`main:
  steps:
    - first:
        assign:
          - x: 1
    - fan_out:
        parallel:
          branches: []
`);
    expect(error.message).toBe('a parallel step has 2 to 10 branches, not 0 (line 8)');
    expect(error.line).toBe(8);
  });

  it('names an unknown step keyword and an unknown call target', () => {
    expect(syntaxError('- a:\n    asign:\n      - x: 1\n').message).toBe(
      'unsupported: asign (line 2)',
    );
    expect(syntaxError('- a:\n    call: events.await_callback\n').message).toBe(
      'unsupported: call events.await_callback (line 2)',
    );
  });

  it('names an unknown function inside an expression', () => {
    expect(syntaxError('- a:\n    return: ${crypto.kms_sign("a")}\n').message).toBe(
      'unsupported: function crypto.kms_sign (line 2)',
    );
  });

  it('reports a malformed expression with its line', () => {
    expect(syntaxError('- a:\n    assign:\n      - x: ${1 +}\n').message).toMatch(
      /^invalid expression 1 \+: .* \(line 3\)$/,
    );
  });

  it('refuses next to an unknown step, and break outside a loop', () => {
    expect(syntaxError('- a:\n    next: nowhere\n').message).toBe(
      'next: unknown step nowhere (line 2)',
    );
    expect(syntaxError('- a:\n    next: break\n').message).toBe(
      'next: break outside a for loop (line 2)',
    );
  });

  it('refuses a for loop without steps, which would spin through its range without taking a step', () => {
    const error = syntaxError(
      '- spin:\n    for:\n      value: i\n      range: [0, 1000000000000]\n      steps: []\n',
    );
    expect(error.message).toBe('for needs at least one step (line 5)');
  });

  it('refuses a step that combines two actions', () => {
    expect(syntaxError('- a:\n    return: 1\n    raise: "x"\n').message).toMatch(
      /cannot combine raise and return/,
    );
  });

  it('refuses a map definition without main, and invalid YAML', () => {
    expect(syntaxError('other:\n  steps:\n    - a:\n        return: 1\n').message).toMatch(
      /needs a main/,
    );
    expect(syntaxError('- a:\n  - b: [\n').message).toMatch(/^invalid YAML/);
  });

  it('refuses an unknown retry policy and predicate', () => {
    const source = (retry: string) => `- a:\n    try:\n      return: 1\n    retry: ${retry}\n`;
    expect(syntaxError(source('${http.sometimes}')).message).toBe(
      'unsupported: retry policy http.sometimes (line 4)',
    );
  });

  it('returns the cached program for a source it parsed before, and never caches a failure', () => {
    const source = '- a:\n    return: 42\n';
    expect(parseWorkflow(source)).toBe(parseWorkflow(source));
    expect(() => parseWorkflow('- a:\n    nope: 1\n')).toThrow('unsupported: nope (line 2)');
    expect(() => parseWorkflow('- a:\n    nope: 1\n')).toThrow('unsupported: nope (line 2)');
  });

  it('refuses a subworkflow call with an unknown or a missing argument, and a predicate without one parameter', () => {
    const callWith = (args: string) =>
      `main:\n  steps:\n    - c:\n        call: sub\n${args}sub:\n  params: [a, b: 2]\n  steps:\n    - r:\n        return: \${a}\n`;
    expect(parseWorkflow(callWith('        args:\n          a: 1\n')).subworkflows.size).toBe(2);
    expect(syntaxError(callWith('        args:\n          a: 1\n          z: 3\n')).message).toBe(
      'sub has no parameter z (line 4)',
    );
    expect(syntaxError(callWith('')).message).toBe('call sub: missing argument a (line 4)');
    const predicate = `main:\n  steps:\n    - t:\n        try:\n          return: 1\n        retry:\n          predicate: \${p}\n          max_retries: 1\np:\n  steps:\n    - r:\n        return: true\n`;
    expect(syntaxError(predicate).message).toBe(
      'retry predicate p must take exactly one parameter (line 7)',
    );
  });
});
